//! Server-sent events, incrementally: upstream body chunks do not align with events, so a line buffer
//! keeps the partial line between chunks. Memory is bounded by the longest allowed event.

use memchr::memchr;

/// One complete event. `data` joins the event's `data:` lines with `\n` (per the SSE spec).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
    /// True when the event had at least one `data:` field.
    pub has_data: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTooLong(pub usize);

#[derive(Debug)]
pub struct SseParser {
    partial: Vec<u8>,
    current: SseEvent,
    current_len: usize,
    max_event_bytes: usize,
}

impl SseParser {
    pub fn new(max_event_bytes: usize) -> Self {
        SseParser {
            partial: Vec::new(),
            current: SseEvent::default(),
            current_len: 0,
            max_event_bytes,
        }
    }

    /// Feed a chunk; `on_event` gets every event completed by it, as soon as its blank line arrives.
    pub fn push(&mut self, mut chunk: &[u8], mut on_event: impl FnMut(SseEvent)) -> Result<(), EventTooLong> {
        while let Some(nl) = memchr(b'\n', chunk) {
            let (line, rest) = chunk.split_at(nl);
            chunk = &rest[1..];
            if self.partial.is_empty() {
                self.line(line, &mut on_event);
            } else {
                let mut joined = std::mem::take(&mut self.partial);
                joined.extend_from_slice(line);
                self.line(&joined, &mut on_event);
                joined.clear();
                self.partial = joined;
            }
        }
        self.partial.extend_from_slice(chunk);
        if self.partial.len() + self.current_len > self.max_event_bytes {
            return Err(EventTooLong(self.max_event_bytes));
        }
        Ok(())
    }

    /// Whether bytes of an unfinished event are buffered (a stream that ends here was cut short).
    pub fn has_pending(&self) -> bool {
        !self.partial.is_empty() || self.current_len > 0
    }

    fn line(&mut self, line: &[u8], on_event: &mut impl FnMut(SseEvent)) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if self.current_len > 0 || self.current.has_data {
                self.current_len = 0;
                on_event(std::mem::take(&mut self.current));
            }
            return;
        }
        if line[0] == b':' {
            return; // comment (keep-alive)
        }
        let (field, value) = match memchr(b':', line) {
            Some(i) => {
                let v = &line[i + 1..];
                (&line[..i], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        // `from_utf8` checks ASCII a word at a time; the lossy decoder walks every byte.
        let value = match std::str::from_utf8(value) {
            Ok(v) => std::borrow::Cow::Borrowed(v),
            Err(_) => String::from_utf8_lossy(value),
        };
        self.current_len += line.len();
        match field {
            b"data" => {
                if self.current.has_data {
                    self.current.data.push('\n');
                }
                self.current.data.push_str(&value);
                self.current.has_data = true;
            }
            b"event" => self.current.event = Some(value.into_owned()),
            _ => {} // id, retry: not needed by any translation
        }
    }
}

/// Append `data: <json>\n\n` (with an optional `event:` line) to `out`. Data with line breaks (an
/// upstream event forwarded as it came, whose data had several `data:` lines) is written one `data:` line
/// per line, which a client joins back into the same data; a raw line break would end the event early.
pub fn write_event(out: &mut Vec<u8>, event: Option<&str>, data: &[u8]) {
    if let Some(e) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(e.as_bytes());
        out.push(b'\n');
    }
    out.reserve(data.len() + 16);
    // One `data:` line per line of `data`.
    let mut rest = data;
    loop {
        out.extend_from_slice(b"data: ");
        match memchr(b'\n', rest) {
            Some(i) => {
                out.extend_from_slice(&rest[..i]);
                out.push(b'\n');
                rest = &rest[i + 1..];
            }
            None => {
                out.extend_from_slice(rest);
                out.push(b'\n');
                break;
            }
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests;
