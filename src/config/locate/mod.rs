//! Maps field paths (`providers.openai.base_url`, `models[3].pricing`) to line numbers, so problems found
//! after deserializing (cross-references, ranges) still name a line. serde_yaml keeps no positions,
//! so this walks the marked events of a second, position-keeping YAML parser.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

enum Frame {
    Map { key: Option<String>, awaiting_key: bool },
    Seq { index: usize },
}

struct Collector {
    stack: Vec<(Frame, String)>,
    lines: HashMap<String, usize>,
}

impl Collector {
    /// The path of the node that starts now, given the enclosing frame.
    fn child_path(&mut self) -> Option<String> {
        let (frame, base) = self.stack.last_mut()?;
        let join = |seg: &str| {
            if base.is_empty() {
                seg.to_string()
            } else {
                format!("{base}.{seg}")
            }
        };
        match frame {
            Frame::Map { key, awaiting_key } => {
                *awaiting_key = true;
                key.take().map(|k| join(&k))
            }
            Frame::Seq { index } => {
                let p = format!("{base}[{index}]");
                *index += 1;
                Some(p)
            }
        }
    }

    fn enter(&mut self, frame: Frame, line: usize) {
        let path = if self.stack.is_empty() {
            String::new()
        } else {
            self.child_path().unwrap_or_default()
        };
        self.lines.entry(path.clone()).or_insert(line);
        self.stack.push((frame, path));
    }

    fn scalar(&mut self, value: String, line: usize) {
        if let Some((Frame::Map { key, awaiting_key }, base)) = self.stack.last_mut() {
            if *awaiting_key {
                let p = if base.is_empty() {
                    value.clone()
                } else {
                    format!("{base}.{value}")
                };
                self.lines.entry(p).or_insert(line);
                *key = Some(value);
                *awaiting_key = false;
                return;
            }
        }
        if let Some(p) = self.child_path() {
            self.lines.entry(p).or_insert(line);
        }
    }
}

impl MarkedEventReceiver for Collector {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let line = mark.line();
        match ev {
            Event::MappingStart(..) => self.enter(
                Frame::Map {
                    key: None,
                    awaiting_key: true,
                },
                line,
            ),
            Event::SequenceStart(..) => self.enter(Frame::Seq { index: 0 }, line),
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            Event::Scalar(v, ..) => self.scalar(v, line),
            Event::Alias(_) => {
                if let Some(p) = self.child_path() {
                    self.lines.entry(p).or_insert(line);
                }
            }
            _ => {}
        }
    }
}

/// Line (1-based) of every path in `text`. Returns an empty map for text that does not parse (the
/// serde error will name the line instead).
pub fn line_index(text: &str) -> HashMap<String, usize> {
    let mut c = Collector {
        stack: Vec::new(),
        lines: HashMap::new(),
    };
    let mut parser = Parser::new_from_str(text);
    if parser.load(&mut c, false).is_err() {
        return HashMap::new();
    }
    c.lines
}

/// The line of `path`, or of its nearest ancestor that has one.
pub fn line_of(index: &HashMap<String, usize>, path: &str) -> Option<usize> {
    let mut p = path;
    loop {
        if let Some(l) = index.get(p) {
            return Some(*l);
        }
        let cut = p.rfind(['.', '['])?;
        p = &p[..cut];
    }
}

#[cfg(test)]
mod tests;
