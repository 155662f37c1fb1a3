//! Container processes podman no longer knows about. When a pod is deleted
//! while one of its containers is starting, `podman rm` can remove the
//! container's record before runc has started its process; conmon then keeps
//! that process running with nothing pointing at it. They are found by
//! conmon's `-n <container name>` argument and killed with their children.

use std::path::Path;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A conmon process and the container name it supervises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supervisor {
    pub pid: i32,
    pub container_name: String,
}

/// The container name in a conmon command line, if it is one.
pub fn container_name(argv: &[String]) -> Option<&str> {
    let program = argv.first()?;
    if !program.ends_with("conmon") {
        return None;
    }
    argv.iter()
        .position(|a| a == "-n" || a == "--name")
        .and_then(|i| argv.get(i + 1))
        .map(String::as_str)
}

fn argv(pid_dir: &Path) -> Vec<String> {
    std::fs::read(pid_dir.join("cmdline"))
        .map(|raw| {
            raw.split(|b| *b == 0)
                .filter(|part| !part.is_empty())
                .map(|part| String::from_utf8_lossy(part).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn parent_of(pid_dir: &Path) -> Option<i32> {
    let stat = std::fs::read_to_string(pid_dir.join("stat")).ok()?;
    // `pid (comm) state ppid ...`; comm may hold spaces, so split after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn processes() -> Vec<(i32, std::path::PathBuf)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse::<i32>().ok()?, e.path())))
        .collect()
}

/// Every conmon whose container name starts with `prefix`.
pub fn supervisors(prefix: &str) -> Vec<Supervisor> {
    processes()
        .into_iter()
        .filter_map(|(pid, dir)| {
            let argv = argv(&dir);
            let name = container_name(&argv)?;
            name.starts_with(prefix).then(|| Supervisor {
                pid,
                container_name: name.to_owned(),
            })
        })
        .collect()
}

/// Kills a conmon's children, then the conmon.
pub fn kill_supervised(supervisor: &Supervisor) {
    for (pid, dir) in processes() {
        if parent_of(&dir) == Some(supervisor.pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    let _ = kill(Pid::from_raw(supervisor.pid), Signal::SIGKILL);
}

/// Kills the containers of environment `env` whose pod (by the uid prefix in
/// the container name) is not one of `live`.
pub fn kill_orphans(env: &str, live: &[String]) -> usize {
    let prefix = format!("testenv-{env}-");
    let orphans: Vec<Supervisor> = supervisors(&prefix)
        .into_iter()
        .filter(|s| {
            let uid8 = s.container_name[prefix.len()..]
                .split('-')
                .next()
                .unwrap_or_default();
            // Another environment whose name extends this one's has no uid here.
            let is_uid = uid8.len() == 8 && uid8.chars().all(|c| c.is_ascii_hexdigit());
            is_uid && !live.iter().any(|uid| uid.starts_with(uid8))
        })
        .collect();
    for orphan in &orphans {
        tracing::info!(container = %orphan.container_name, "killing a container whose pod is gone");
        kill_supervised(orphan);
    }
    orphans.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_container_name_of_a_conmon() {
        let argv: Vec<String> = [
            "/usr/bin/conmon",
            "--api-version",
            "1",
            "-c",
            "abc",
            "-n",
            "testenv-dev-95b62d3e-agent-1",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        assert_eq!(container_name(&argv), Some("testenv-dev-95b62d3e-agent-1"));
        assert_eq!(
            container_name(&["/bin/sh".to_owned(), "-n".to_owned(), "x".to_owned()]),
            None
        );
    }
}
