//! The log writer behind `tracing`: a line is formatted on the request's thread and then costs one
//! memcpy into a shared buffer; a background thread writes the buffer to stdout every `FLUSH_EVERY`,
//! or as soon as it passes `HIGH_WATER`. A channel with one message per line (tracing-appender) woke
//! its writer thread for every request: a futex wake, spinning `sched_yield`s and a `write` syscall
//! each, about a sixth of the gateway's CPU at 32 concurrent requests.
//!
//! Past `LIMIT` unwritten bytes (stdout blocked) lines are dropped and counted, never waited on.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

const FLUSH_EVERY: Duration = Duration::from_millis(20);
const HIGH_WATER: usize = 256 * 1024;
const LIMIT: usize = 8 * 1024 * 1024;

struct Shared {
    buf: Mutex<Vec<u8>>,
    wake: Condvar,
    dropped: AtomicU64,
}

/// A cloneable handle: `tracing_subscriber`'s `MakeWriter` and an `io::Write` of whole lines.
#[derive(Clone)]
pub struct BatchWriter {
    shared: Arc<Shared>,
}

impl BatchWriter {
    /// Start the writer thread, writing to `out`.
    pub fn spawn(mut out: impl Write + Send + 'static) -> std::io::Result<BatchWriter> {
        let shared = Arc::new(Shared {
            buf: Mutex::new(Vec::with_capacity(HIGH_WATER)),
            wake: Condvar::new(),
            dropped: AtomicU64::new(0),
        });
        let s = shared.clone();
        std::thread::Builder::new().name("log-writer".into()).spawn(move || {
            let mut spare = Vec::with_capacity(HIGH_WATER);
            loop {
                {
                    let Ok(mut buf) = s.buf.lock() else { return };
                    if buf.len() < HIGH_WATER {
                        buf = match s.wake.wait_timeout(buf, FLUSH_EVERY) {
                            Ok((b, _)) => b,
                            Err(_) => return,
                        };
                    }
                    std::mem::swap(&mut *buf, &mut spare);
                }
                if !spare.is_empty() {
                    // A failed write (closed stdout) loses these lines; there is nowhere to report it.
                    let _ = out.write_all(&spare).and_then(|_| out.flush());
                    spare.clear();
                    spare.shrink_to(HIGH_WATER * 4);
                }
            }
        })?;
        Ok(BatchWriter { shared })
    }

    /// Write out what is buffered, now, on the caller's thread (at exit).
    pub fn flush_now(&self) {
        // Let the writer thread finish a batch it may be writing, so that lines keep their order.
        std::thread::sleep(FLUSH_EVERY * 2);
        let pending = match self.shared.buf.lock() {
            Ok(mut buf) => std::mem::take(&mut *buf),
            Err(_) => return,
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&pending).and_then(|_| out.flush());
    }

    /// Lines dropped because the buffer was full.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Write for BatchWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let Ok(mut buf) = self.shared.buf.lock() else {
            return Ok(line.len());
        };
        if buf.len() + line.len() > LIMIT {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            buf.extend_from_slice(line);
            if buf.len() >= HIGH_WATER {
                self.shared.wake.notify_one();
            }
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter {
    type Writer = BatchWriter;

    fn make_writer(&'a self) -> BatchWriter {
        self.clone()
    }
}

#[cfg(test)]
mod tests;
