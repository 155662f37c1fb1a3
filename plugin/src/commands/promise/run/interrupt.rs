//! Never leaving a container running: when the run is interrupted (Ctrl-C,
//! SIGTERM, SIGHUP) or its output can no longer be written, the container
//! that is running is killed by name. The engine runs in a process group of
//! its own, so a Ctrl-C reaches this process alone and the container is
//! stopped the same way whatever the engine would do with the signal.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::{Context, Result};

/// The exit code of an interrupted run, as a shell reports SIGINT.
pub const INTERRUPTED: u8 = 130;

/// The exit code of a run whose output was closed (`| head`), as a shell
/// reports SIGPIPE.
pub const OUTPUT_CLOSED: u8 = 141;

/// The run's output could no longer be written; the container was stopped.
#[derive(Debug)]
pub struct OutputClosed;

impl std::fmt::Display for OutputClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the output was closed; the running container was stopped")
    }
}

impl std::error::Error for OutputClosed {}

struct Running {
    program: PathBuf,
    name: String,
}

static RUNNING: Mutex<Option<Running>> = Mutex::new(None);

fn running() -> MutexGuard<'static, Option<Running>> {
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Stops the running container, then exits, on Ctrl-C, SIGTERM or SIGHUP.
pub fn install() -> Result<()> {
    ctrlc::set_handler(|| {
        if let Some(container) = running().take() {
            eprintln!("interrupted: stopping container {}", container.name);
            stop(&container.program, &container.name);
        } else {
            eprintln!("interrupted");
        }
        std::process::exit(i32::from(INTERRUPTED));
    })
    .context("handling Ctrl-C")
}

/// The container `name` is running until this is dropped.
pub struct RunningContainer(());

impl RunningContainer {
    pub fn new(program: &Path, name: &str) -> Self {
        *running() = Some(Running {
            program: program.to_owned(),
            name: name.to_owned(),
        });
        RunningContainer(())
    }
}

impl Drop for RunningContainer {
    fn drop(&mut self) {
        running().take();
    }
}

/// Kills container `name` (its `--rm` then removes it). Just after the engine
/// was started the container may not exist yet: tried for up to two seconds.
pub fn stop(program: &Path, name: &str) {
    for _ in 0..20 {
        let killed = Command::new(program)
            .args(["kill", name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if killed.is_ok_and(|status| status.success()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
