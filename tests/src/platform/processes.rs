//! Starting programs that outlive `testenv up`, and stopping them again.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt as _;

use crate::error::{Result, StepContext, fail};

/// Spawns `command` in its own process group, output appended to `log`.
pub fn spawn_detached(step: &str, mut command: Command, log: &Path) -> Result<u32> {
    let out = File::options()
        .create(true)
        .append(true)
        .open(log)
        .step(format!("{step}: opening {}", log.display()))?;
    let err = out.try_clone().step(step)?;
    let child = command
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .process_group(0)
        .spawn()
        .step(step)?;
    Ok(child.id())
}

pub fn is_alive(pid: u32) -> bool {
    i32::try_from(pid).is_ok_and(|pid| kill(Pid::from_raw(pid), None).is_ok())
}

/// SIGTERM to the process group, then SIGKILL after `grace`.
pub fn stop(pid: u32, grace: Duration) {
    let Ok(raw) = i32::try_from(pid) else { return };
    let group = Pid::from_raw(raw);
    let _ = killpg(group, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !is_alive(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = killpg(group, Signal::SIGKILL);
}

/// SIGTERM to one process (not a group leader), then SIGKILL after `grace`.
pub fn stop_one(pid: u32, grace: Duration) {
    let Ok(raw) = i32::try_from(pid) else { return };
    let process = Pid::from_raw(raw);
    let _ = kill(process, Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !is_alive(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = kill(process, Signal::SIGKILL);
}

/// The last `lines` lines of a log, for error messages.
pub fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Fails unless `pid` is still running, quoting its log.
pub fn ensure_running(step: &str, pid: u32, log: &Path) -> Result<()> {
    if is_alive(pid) {
        Ok(())
    } else {
        Err(fail(
            step,
            format!(
                "the process exited; last lines of {}:\n{}",
                log.display(),
                log_tail(log, 15)
            ),
        ))
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").step("finding a free port")?;
    Ok(listener.local_addr().step("finding a free port")?.port())
}
