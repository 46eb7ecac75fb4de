//! Log lines in the shape of tracing-subscriber's `json()` format (timestamp, level, fields,
//! target), serialized into one buffer and handed to the writer whole.
//!
//! Why: the stock formatter serializes through an adaptor that turns every small write (a quote,
//! a comma, a number) into a UTF-8 check and a dynamic `fmt::Write` call, and escapes every field
//! name. For the access line of each request that was most of the cost of logging it.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub struct JsonLines;

/// Writes each field as `"name":value` after the first, the way `tracing-serde` renders them:
/// numbers and booleans as JSON numbers and booleans, strings escaped, anything else by `Debug`.
/// Field names are Rust identifiers (or `log.*` for `log` records): nothing in them needs escaping.
struct Fields<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Fields<'_> {
    fn name(&mut self, field: &Field) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
        self.out.push(b'"');
        self.out.extend_from_slice(field.name().as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn json<T: serde::Serialize + ?Sized>(&mut self, field: &Field, value: &T) {
        self.name(field);
        // Numbers, booleans and strings serialize into a Vec without error.
        let _ = serde_json::to_writer(&mut *self.out, value);
    }
}

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.json(field, &value);
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.json(field, &value);
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.json(field, &value);
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.json(field, &value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.json(field, value);
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.json(field, &format!("{value:?}"));
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut timestamp = String::with_capacity(32);
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        let mut line = Vec::with_capacity(768);
        line.extend_from_slice(b"{\"timestamp\":");
        let _ = serde_json::to_writer(&mut line, &timestamp);
        line.extend_from_slice(b",\"level\":\"");
        line.extend_from_slice(meta.level().as_str().as_bytes());
        line.extend_from_slice(b"\",\"fields\":{");
        event.record(&mut Fields {
            out: &mut line,
            first: true,
        });
        line.extend_from_slice(b"},\"target\":");
        let _ = serde_json::to_writer(&mut line, meta.target());
        line.push(b'}');
        // Only JSON text was written, which is UTF-8.
        writer.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)?;
        writeln!(writer)
    }
}
