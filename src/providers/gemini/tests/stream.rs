//! Streams decoded however they are split, and when a stream counts as complete.

use switchyard_sdk::ir::{FinishReason, StreamEvent, Usage};

use super::*;
use crate::providers::gemini::{wire, Gemini};
use crate::providers::{ProviderAdapter, StreamDecoder};
use crate::wire::sse::SseParser;

/// Feed `pieces` through the SSE parser into a fresh decoder.
fn decode(pieces: &[&[u8]]) -> (Vec<StreamEvent>, Box<dyn StreamDecoder>) {
    let m = model();
    let mut parser = SseParser::new(1 << 20);
    let mut dec = Gemini.stream_decoder(&m);
    let mut out = Vec::new();
    for p in pieces {
        parser.push(p, |ev| dec.event(&ev, &mut out)).unwrap();
    }
    assert!(!parser.has_pending());
    (out, dec)
}

fn usage(input: u64, output: u64, reasoning: u64) -> StreamEvent {
    StreamEvent::Usage(Usage {
        input_tokens: input,
        output_tokens: output,
        reasoning_tokens: reasoning,
        reasoning_unknown: false,
        ..Default::default()
    })
}

fn start(id: &str) -> StreamEvent {
    StreamEvent::Start {
        id: id.into(),
        model: "gemini-2.5-flash".into(),
    }
}

#[test]
fn decodes_streams_split_anywhere() {
    use StreamEvent as E;
    let cases: Vec<(&str, Vec<StreamEvent>, bool)> = vec![
        (
            fixture!("stream_text.sse"),
            vec![
                start("IZI2acSKMoWl0-kPmYj2yQc"),
                E::TextDelta("Okay, let's create a Tetris game in Python for the console! We'll use the `curses` library.\n\n**Important Notes:**\n\n1.  **`curses".into()),
                usage(4, 2091, 2042),
                E::TextDelta("` is primarily for Unix-like systems (Linux, macOS).** On Windows use `windows-curses` — «pip install windows-curses».".into()),
                usage(4, 2139, 2042),
                E::TextDelta("\n2.  Run it: `python tetris.py` 🎮".into()),
                E::Finish(FinishReason::Stop),
                usage(4, 2154, 2042),
            ],
            true,
        ),
        (
            fixture!("stream_tools.sse"),
            vec![
                start("qpc2afWVFJK4vr0Pq6WiyAU"),
                E::ReasoningDelta("**Planning the lookup**\n\nThe user wants the weather in two cities, so I will call the tool twice.\n".into()),
                usage(83, 0, 0),
                E::TextDelta("Let me check both cities.".into()),
                E::ReasoningSignature(wire::tag_signature("up-m", "CikBcsjafFK168IbtVtoxVV0Tsn8O+eU45rzJahzwuKGmMbdMdfpmNpgBwplAXLI2nyA/pIFcnZwFm+7WFmLyMd8R4DXwsjqaeAAfCKo5G1xIkbAlJp8VevnIWRZ9SyMmiiqmY6linicJ5dg3rVLHM9wwSQ8FEvAxgO3Ave1rRlh")),
                E::ToolCallStart { index: 0, id: "call_qpc2afWVFJK4vr0Pq6WiyAU_0".into(), name: "get_weather".into() },
                E::ToolCallDelta { index: 0, arguments: r#"{"location":"Tokyo","unit":"celsius"}"#.into() },
                E::ToolCallStart { index: 1, id: "call_qpc2afWVFJK4vr0Pq6WiyAU_1".into(), name: "get_weather".into() },
                E::ToolCallDelta { index: 1, arguments: r#"{"location":"Paris","unit":"celsius"}"#.into() },
                E::Finish(FinishReason::ToolCalls),
                usage(83, 132, 104),
            ],
            true,
        ),
        (
            fixture!("stream_error.sse"),
            vec![
                start("H5RfaPLmNsuQz7IP_5ivyAc"),
                E::TextDelta("The first three primes are 2, 3".into()),
                usage(12, 48, 40),
                E::Error { message: "The model is overloaded. Please try again later.".into() },
            ],
            false,
        ),
        (
            fixture!("stream_blocked.sse"),
            vec![start("Bk9faJ3nJMqQz7IP_aSNwA4"), E::Finish(FinishReason::ContentFilter), usage(17, 0, 0)],
            true,
        ),
    ];
    for (sse, expected, complete) in cases {
        let whole = sse.as_bytes();
        let (got, dec) = decode(&[whole]);
        assert_eq!(got, expected);
        assert_eq!(dec.complete_at_eof(), complete);
        assert!(!dec.done(), "Gemini streams have no end marker");
        for split in 1..whole.len() {
            let (got, _) = decode(&[&whole[..split], &whole[split..]]);
            assert_eq!(got, expected, "split at {split}");
        }
        let bytes: Vec<&[u8]> = whole.chunks(1).collect();
        assert_eq!(decode(&bytes).0, expected);
    }
}

#[test]
fn a_stream_is_complete_only_after_a_finish_reason() {
    let sse = fixture!("stream_tools.sse");
    let events: Vec<&str> = sse.split_inclusive("\n\n").collect();
    assert_eq!(events.len(), 3);
    for n in 0..events.len() {
        let head = events[..n].concat();
        let (_, dec) = decode(&[head.as_bytes()]);
        assert!(!dec.complete_at_eof(), "cut after {n} events");
    }
    let (_, dec) = decode(&[sse.as_bytes()]);
    assert!(dec.complete_at_eof());
    let (out, dec) = decode(&[b"data: {\"candidates\": [\n\n"]);
    assert!(matches!(&out[..], [StreamEvent::Error { .. }]));
    assert!(!dec.complete_at_eof());
}
