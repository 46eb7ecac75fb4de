//! Where a problem is: a config file's text with its field-path-to-line index, and the [`Problem`]s
//! found in it, each with file, line and field path.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::locate;

/// One thing wrong with the configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if self.path.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.path, self.message)
        }
    }
}

/// All problems found; the config is valid when there are none.
#[derive(Debug, Clone, PartialEq)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// A file's text plus its path-to-line index, for locating problems.
pub(crate) struct Source {
    pub(crate) path: PathBuf,
    text: String,
    pub(crate) lines: HashMap<String, usize>,
}

impl Source {
    pub(crate) fn read(path: &Path) -> Result<Source, Problems> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Problems(vec![Problem {
                file: path.to_path_buf(),
                line: None,
                path: String::new(),
                message: format!("cannot read: {e}"),
            }])
        })?;
        let lines = locate::line_index(&text);
        Ok(Source {
            path: path.to_path_buf(),
            text,
            lines,
        })
    }

    pub(crate) fn problem(&self, path: impl Into<String>, message: impl Into<String>) -> Problem {
        let path = path.into();
        Problem {
            file: self.path.clone(),
            line: locate::line_of(&self.lines, &path),
            path,
            message: message.into(),
        }
    }

    pub(crate) fn parse<T: DeserializeOwned>(&self) -> Result<T, Problems> {
        let de = serde_yaml::Deserializer::from_str(&self.text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let inner = e.into_inner();
            // The field's own line when the path is in the index (serde_yaml's position can be off by
            // one for errors raised inside a Deserialize impl), else where the parser stopped.
            let line = self
                .lines
                .get(&path)
                .copied()
                .or(inner.location().map(|l| l.line()))
                .or_else(|| locate::line_of(&self.lines, &path));
            // serde_yaml appends " at line X column Y"; the line is reported in front instead.
            let msg = inner.to_string();
            let mut msg = match msg.find(" at line ") {
                Some(i) => msg[..i].to_string(),
                None => msg,
            };
            // It also prefixes the enclosing path, which the problem already names.
            let mut prefix = path.as_str();
            loop {
                if let Some(rest) = msg.strip_prefix(prefix).and_then(|r| r.strip_prefix(": ")) {
                    msg = rest.to_string();
                    break;
                }
                match prefix.rfind(['.', '[']) {
                    Some(i) => prefix = &prefix[..i],
                    None => break,
                }
            }
            Problems(vec![Problem {
                file: self.path.clone(),
                line,
                path,
                message: msg,
            }])
        })
    }
}
