//! SDK compatibility: runs the Python suite in `tests/compat` (the official `openai` SDK against a
//! gateway started from this build's binary). Python 3 with the packages of
//! `tests/compat/requirements.txt` must be installed; a missing interpreter or SDK fails the test, it
//! is never skipped. `SWITCHYARD_PYTHON` names another interpreter than `python3`.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The whole suite takes seconds; this only bounds a hang.
const TIMEOUT: Duration = Duration::from_secs(600);

#[test]
fn openai_sdk_compat() -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var("SWITCHYARD_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let log_dir = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
    let log_path = log_dir.path().join("pytest.log");
    let log = File::create(&log_path).map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;

    let mut child = Command::new(&python)
        .args(["-m", "pytest", "tests/compat", "-q", "-p", "no:cacheprovider"])
        .current_dir(root)
        .env("SWITCHYARD_BIN", env!("CARGO_BIN_EXE_switchyard"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run `{python}` ({e}); the SDK compatibility suite needs Python 3 with \
                 `pip install -r tests/compat/requirements.txt`"
            )
        })?;

    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => return Err(format!("waiting for pytest: {e}")),
        }
    };

    let mut output = String::new();
    File::open(&log_path)
        .and_then(|mut f| f.read_to_string(&mut output))
        .map_err(|e| format!("cannot read pytest's output: {e}"))?;
    match status {
        Some(s) if s.success() => {
            println!("{output}");
            Ok(())
        }
        Some(s) => {
            eprintln!("---- pytest output ----\n{output}\n---- end of pytest output ----");
            Err(format!(
                "the openai SDK compatibility suite failed ({s}); \
                 rerun with `python3 -m pytest tests/compat` (see the output above)"
            ))
        }
        None => {
            eprintln!("---- pytest output ----\n{output}\n---- end of pytest output ----");
            Err(format!(
                "the openai SDK compatibility suite did not finish within {TIMEOUT:?}"
            ))
        }
    }
}
