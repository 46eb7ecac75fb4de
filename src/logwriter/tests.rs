//! Unit tests of `logwriter`.

use super::*;

/// An `io::Write` whose bytes the test can read.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn lines_arrive_whole_in_order_within_the_flush_interval() {
    let sink = Sink::default();
    let mut w = BatchWriter::spawn(sink.clone()).unwrap();
    for i in 0..1000 {
        w.write_all(format!("line {i}\n").as_bytes()).unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while sink.0.lock().unwrap().iter().filter(|&&b| b == b'\n').count() < 1000 {
        assert!(std::time::Instant::now() < deadline, "lines not written");
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let want: String = (0..1000).map(|i| format!("line {i}\n")).collect();
    assert_eq!(out, want);
    assert_eq!(w.dropped(), 0);
}

#[test]
fn a_blocked_output_drops_and_counts_instead_of_growing() {
    /// Never returns: the writer thread is stuck, as on a blocked pipe.
    struct Blocked;
    impl Write for Blocked {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            std::thread::park();
            Ok(0)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = BatchWriter::spawn(Blocked).unwrap();
    let line = vec![b'x'; 1024];
    for _ in 0..(3 * LIMIT / 1024) {
        w.write_all(&line).unwrap();
    }
    assert!(w.dropped() >= LIMIT as u64 / 1024, "dropped {}", w.dropped());
    assert!(w.shared.buf.lock().unwrap().len() <= LIMIT);
}
