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
    /// The engine's process, once started (the leader of its own group).
    engine: Option<u32>,
}

static RUNNING: Mutex<Option<Running>> = Mutex::new(None);

/// Set once an interrupt is being handled: the run must not go on to its own end.
static INTERRUPTED_NOW: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Waits for the interrupt handler to end the process, when one is running:
/// the container the engine ran was stopped by it, and the run must end
/// with the handler's exit code, not carry on as if the container failed.
pub fn yield_to_handler() {
    if INTERRUPTED_NOW.load(std::sync::atomic::Ordering::SeqCst) {
        loop {
            std::thread::park();
        }
    }
}

/// The running pipeline's Secret folders, removed if the run is interrupted.
static SECRETS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn running() -> MutexGuard<'static, Option<Running>> {
    RUNNING.lock().unwrap_or_else(PoisonError::into_inner)
}

fn secrets() -> MutexGuard<'static, Vec<PathBuf>> {
    SECRETS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The folders holding the running pipeline's Secret files (none between pipelines).
pub fn secret_folders(folders: Vec<PathBuf>) {
    *secrets() = folders;
}

/// Stops the running container and removes the Secret files, then exits, on
/// Ctrl-C, SIGTERM or SIGHUP.
pub fn install() -> Result<()> {
    ctrlc::set_handler(|| {
        INTERRUPTED_NOW.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(container) = running().take() {
            eprintln!("interrupted: stopping container {}", container.name);
            stop_engine(&container);
        } else {
            eprintln!("interrupted");
        }
        for folder in secrets().drain(..) {
            let _ = std::fs::remove_dir_all(folder);
        }
        std::process::exit(i32::from(INTERRUPTED));
    })
    .context("handling Ctrl-C")
}

/// Removes the container (created or running) until its engine has exited,
/// so one the engine creates after the first attempt goes too; then stops
/// the engine itself if it is still there (at most ten seconds in all).
fn stop_engine(container: &Running) {
    let alive = |pid: u32| Path::new(&format!("/proc/{pid}")).exists();
    for _ in 0..50 {
        remove(&container.program, &container.name);
        match container.engine {
            Some(pid) if alive(pid) => std::thread::sleep(Duration::from_millis(200)),
            _ => break,
        }
    }
    remove(&container.program, &container.name);
    if let Some(pid) = container.engine.filter(|pid| alive(*pid)) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pid}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn remove(program: &Path, name: &str) {
    let _ = Command::new(program)
        .args(["rm", "--force", name])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The container `name` is running until this is dropped.
pub struct RunningContainer(());

impl RunningContainer {
    pub fn new(program: &Path, name: &str) -> Self {
        *running() = Some(Running {
            program: program.to_owned(),
            name: name.to_owned(),
            engine: None,
        });
        RunningContainer(())
    }

    /// The engine's process is `pid`.
    pub fn started(&self, pid: u32) {
        if let Some(container) = running().as_mut() {
            container.engine = Some(pid);
        }
    }
}

impl Drop for RunningContainer {
    fn drop(&mut self) {
        running().take();
    }
}

/// Removes container `name`, killing it first. Just after the engine was
/// started the container may not exist yet: tried for up to two seconds.
pub fn stop(program: &Path, name: &str) {
    for _ in 0..20 {
        let removed = Command::new(program)
            .args(["rm", "--force", name])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if removed.is_ok_and(|status| status.success()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
