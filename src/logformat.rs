//! Log lines in the shape of tracing-subscriber's `json()` format (timestamp, level, fields,
//! target), serialized into one buffer and handed to the writer whole.
//!
//! Why: the stock formatter serializes through an adaptor that turns every small write (a quote,
//! a comma, a number) into a UTF-8 check and a dynamic `fmt::Write` call. For the access line of
//! each request that was most of the cost of logging it.

use std::fmt;

use serde::ser::{SerializeMap, Serializer as _};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_serde::fields::AsMap;
use tracing_serde::AsSerde;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

pub struct JsonLines;

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
        let mut line = Vec::with_capacity(512);
        let mut ser = serde_json::Serializer::new(&mut line);
        let written: Result<(), serde_json::Error> = (|| {
            let mut map = ser.serialize_map(None)?;
            map.serialize_entry("timestamp", &timestamp)?;
            map.serialize_entry("level", &meta.level().as_serde())?;
            map.serialize_entry("fields", &event.field_map())?;
            map.serialize_entry("target", meta.target())?;
            map.end()
        })();
        written.map_err(|_| fmt::Error)?;
        // serde_json writes UTF-8 only.
        writer.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)?;
        writeln!(writer)
    }
}
