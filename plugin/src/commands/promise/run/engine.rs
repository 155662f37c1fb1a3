//! The container engine on this machine: which one (podman, else docker), the
//! limits podman must be told, and one container run with its output streamed
//! line by line under its `pipeline › container` prefix.

use std::io::{BufRead as _, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use kratix_shared::local_run::engine_command::{Engine, EngineCommand, Ulimit};

use super::interrupt::{self, OutputClosed, RunningContainer};
use crate::cli::EngineChoice;
use crate::display::log_lines::LogPrinter;

/// The engine asked for, else the first of podman and docker on PATH.
pub fn choose(choice: Option<EngineChoice>) -> Result<(Engine, PathBuf)> {
    let wanted: &[Engine] = match choice {
        Some(EngineChoice::Podman) => &[Engine::Podman],
        Some(EngineChoice::Docker) => &[Engine::Docker],
        None => &[Engine::Podman, Engine::Docker],
    };
    for engine in wanted {
        if let Some(path) = on_path(engine.program()) {
            return Ok((*engine, path));
        }
    }
    match choice {
        Some(_) => bail!(
            "--engine {0}: {0} is not on PATH; install it (or put it on PATH), or choose the other engine",
            wanted[0].program()
        ),
        None => bail!(
            "no container engine: neither podman nor docker is on PATH; install one (or put it on PATH) to run pipelines locally"
        ),
    }
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file() || path.with_extension("exe").is_file()
}

/// The limits to start podman's containers with: this process's own open
/// files and processes. Podman runs a container as its caller, and a caller
/// without CAP_SYS_RESOURCE cannot raise a limit past its own hard limit, so
/// podman's defaults (a million open files) fail to apply on such machines
/// ("error setting rlimits"). Docker's daemon sets its own; nothing is passed.
pub fn ulimits(engine: Engine) -> Vec<Ulimit> {
    if engine != Engine::Podman {
        return Vec::new();
    }
    let pid_max = std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|text| text.trim().parse().ok());
    std::fs::read_to_string("/proc/self/limits")
        .map(|text| parse_limits(&text, pid_max))
        .unwrap_or_default()
}

/// `/proc/self/limits`' open-files and processes rows as podman `--ulimit`s.
/// Processes are capped at the kernel's `pid_max`: no more can exist, and
/// some kernels (gVisor's) refuse a process limit above it.
fn parse_limits(text: &str, pid_max: Option<u64>) -> Vec<Ulimit> {
    let mut limits = Vec::new();
    for (row, name) in [("Max open files", "nofile"), ("Max processes", "nproc")] {
        let Some(line) = text.lines().find(|l| l.starts_with(row)) else {
            continue;
        };
        let mut numbers = line[row.len()..].split_whitespace();
        let value = |word: Option<&str>| match word {
            Some("unlimited") => Some(u64::MAX),
            Some(number) => number.parse().ok(),
            None => None,
        };
        let (Some(mut soft), Some(mut hard)) = (value(numbers.next()), value(numbers.next())) else {
            continue;
        };
        if name == "nproc"
            && let Some(max) = pid_max
        {
            (soft, hard) = (soft.min(max), hard.min(max));
        }
        if soft != u64::MAX && hard != u64::MAX {
            limits.push(Ulimit { name, soft, hard });
        }
    }
    limits
}

/// How a container run ended.
pub struct Exit {
    /// None when the engine was killed by a signal.
    pub code: Option<i32>,
}

/// Runs one container, its stdout and stderr printed line by line as they
/// come. When the lines can no longer be written the container is stopped
/// and [`OutputClosed`] returned.
pub fn run(
    program: &Path,
    command: &EngineCommand,
    printer: &LogPrinter,
    (pipeline, container): (&str, &str),
    container_name: &str,
) -> Result<Exit> {
    tracing::debug!(program = %program.display(), args = ?command.args, "starting a container");
    let mut engine = Command::new(program);
    engine
        .args(&command.args)
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    own_process_group(&mut engine);
    let running = RunningContainer::new(program, container_name);
    let mut child = engine
        .spawn()
        .with_context(|| format!("starting {}", program.display()))?;
    running.started(child.id());
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let closed = std::sync::atomic::AtomicBool::new(false);
    let on_closed = || {
        if !closed.swap(true, std::sync::atomic::Ordering::SeqCst) {
            interrupt::stop(program, container_name);
        }
    };
    let print = |line: &str| printer.line(pipeline, container, line);
    std::thread::scope(|scope| {
        scope.spawn(|| stream(stdout, &print, &on_closed));
        scope.spawn(|| stream(stderr, &print, &on_closed));
    });
    let status = child
        .wait()
        .with_context(|| format!("waiting for {}", program.display()))?;
    interrupt::yield_to_handler();
    drop(running);
    if closed.into_inner() {
        return Err(OutputClosed.into());
    }
    Ok(Exit { code: status.code() })
}

#[cfg(unix)]
fn own_process_group(command: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    command.process_group(0);
}

#[cfg(not(unix))]
fn own_process_group(_: &mut Command) {}

/// Prints `source` line by line until it ends; once a line cannot be written,
/// calls `on_closed` and reads the rest unprinted, so the engine is never
/// stopped mid-write by a pipe it cannot write to.
fn stream(source: Option<impl Read>, print: &dyn Fn(&str) -> std::io::Result<()>, on_closed: &dyn Fn()) {
    let Some(source) = source else {
        return;
    };
    let mut reader = BufReader::new(source);
    let mut line = Vec::new();
    let mut printing = true;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) if !printing => {}
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                if print(text.trim_end_matches(['\n', '\r'])).is_err() {
                    printing = false;
                    on_closed();
                }
            }
        }
    }
}

/// What an engine's own exit codes mean (125: the engine failed, 126: the
/// command cannot run, 127: no such command), for the failure message.
pub fn explain_exit(engine: Engine, image: &str, code: Option<i32>) -> String {
    match code {
        None => "was killed by a signal".to_owned(),
        Some(125) => format!(
            "could not be started by {} (exit 125): see its error above; is the image {image} built on this machine ({} images) or can it be pulled?",
            engine.program(),
            engine.program()
        ),
        Some(126) => format!(
            "exited 126: its command could not be executed (not a program, or no permission), or {}'s runtime refused to start it: see the error above",
            engine.program()
        ),
        Some(127) => "exited 127: its command was not found in the image".to_owned(),
        Some(code) => format!("exited {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_processs_limits_become_podmans() {
        let text = "Limit                     Soft Limit           Hard Limit           Units     \n\
                    Max cpu time              unlimited            unlimited            seconds   \n\
                    Max processes             4096                 8192                 processes \n\
                    Max open files            20000                20000                files     \n";
        assert_eq!(
            parse_limits(text, Some(32768)),
            vec![
                Ulimit {
                    name: "nofile",
                    soft: 20000,
                    hard: 20000
                },
                Ulimit {
                    name: "nproc",
                    soft: 4096,
                    hard: 8192
                },
            ]
        );
        let unlimited = "Max processes             unlimited            unlimited            processes\n";
        assert!(parse_limits(unlimited, None).is_empty(), "nothing to lower");
        assert_eq!(
            parse_limits(unlimited, Some(32768)),
            vec![Ulimit {
                name: "nproc",
                soft: 32768,
                hard: 32768
            }],
            "no more processes than the kernel has ids for"
        );
    }

    #[test]
    fn engine_exit_codes_are_explained() {
        assert!(explain_exit(Engine::Podman, "example/x:v1", Some(125)).contains("podman images"));
        assert_eq!(explain_exit(Engine::Docker, "x", Some(3)), "exited 3");
    }
}
