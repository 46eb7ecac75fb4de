//! Unit tests of the SSE parser and writer: events split anywhere, bounds, multi-line data.

use super::*;

#[test]
fn multi_line_data_is_written_as_several_data_lines_and_parses_back() {
    let mut out = Vec::new();
    write_event(&mut out, Some("message"), b"{\"a\":\n1}");
    assert_eq!(out, b"event: message\ndata: {\"a\":\ndata: 1}\n\n");
    let mut p = SseParser::new(1 << 16);
    let mut events = Vec::new();
    p.push(&out, |e| events.push(e)).unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].data, "{\"a\":\n1}");
}

fn collect(p: &mut SseParser, chunks: &[&[u8]]) -> Vec<SseEvent> {
    let mut out = Vec::new();
    for c in chunks {
        p.push(c, |e| out.push(e)).unwrap();
    }
    out
}

#[test]
fn events_split_anywhere() {
    let whole = b"data: {\"a\":1}\n\n: ping\n\nevent: message_start\ndata: {\"b\":2}\r\n\r\ndata: x\ndata: y\n\ndata: [DONE]\n\n";
    let expect = collect(&mut SseParser::new(1 << 20), &[whole]);
    assert_eq!(expect.len(), 4);
    assert_eq!(expect[1].event.as_deref(), Some("message_start"));
    assert_eq!(expect[2].data, "x\ny");
    for split in 0..whole.len() {
        let mut p = SseParser::new(1 << 20);
        let got = collect(&mut p, &[&whole[..split], &whole[split..]]);
        assert_eq!(got, expect, "split at {split}");
        assert!(!p.has_pending());
    }
    let bytes: Vec<&[u8]> = whole.chunks(1).collect();
    assert_eq!(collect(&mut SseParser::new(1 << 20), &bytes), expect);
}

#[test]
fn bounded_and_reports_pending() {
    let mut p = SseParser::new(16);
    assert!(p.push(b"data: 0123456789abcdef", |_| {}).is_err());
    let mut p = SseParser::new(1024);
    p.push(b"data: {\"a\"", |_| {}).unwrap();
    assert!(p.has_pending());
}
