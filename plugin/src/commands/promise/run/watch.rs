//! `--watch`: the run again whenever the Promise, the request or a file under
//! the Promise's directory changes. Images are not rebuilt: a change to a
//! pipeline's script needs its image built again first, and says so.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use notify::{RecursiveMode, Watcher as _};

use crate::cli::RunArgs;

/// How long changes are gathered before one run: an editor's save is several events.
const SETTLE: Duration = Duration::from_millis(300);

/// Calls `run` now and after each change, until interrupted.
pub fn run_on_changes(args: &RunArgs, output_dir: &Path, mut run: impl FnMut()) -> Result<()> {
    let (sender, receiver) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let _ = sender.send(event);
    })
    .context("starting to watch files")?;
    let watched = watched_paths(args);
    for (path, mode) in &watched {
        watcher
            .watch(path, *mode)
            .with_context(|| format!("watching {}", path.display()))?;
    }
    let ignored = std::fs::canonicalize(output_dir).unwrap_or_else(|_| output_dir.to_owned());
    loop {
        run();
        eprintln!(
            "watching {} for changes (Ctrl-C stops; images are not rebuilt: build a changed image before saving)",
            watched
                .iter()
                .map(|(p, _)| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        wait_for_change(&receiver, &ignored, args)?;
    }
}

/// The Promise's directory (or its file's), recursively, and the request file's.
fn watched_paths(args: &RunArgs) -> Vec<(PathBuf, RecursiveMode)> {
    let directory_of = |path: &Path| {
        if path.is_dir() {
            path.to_owned()
        } else {
            path.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_owned)
        }
    };
    let mut watched = vec![(directory_of(&args.path), RecursiveMode::Recursive)];
    for extra in [&args.resource, &args.config].into_iter().flatten() {
        let dir = directory_of(extra);
        if !watched.iter().any(|(w, _)| dir.starts_with(w)) {
            watched.push((dir, RecursiveMode::NonRecursive));
        }
    }
    watched
}

/// Blocks until a change that matters, then lets the burst settle.
fn wait_for_change(
    receiver: &mpsc::Receiver<notify::Result<notify::Event>>,
    ignored: &Path,
    args: &RunArgs,
) -> Result<()> {
    loop {
        let event = receiver.recv().context("the file watcher stopped")?;
        if matters(&event, ignored, args) {
            break;
        }
    }
    std::thread::sleep(SETTLE);
    while receiver.try_recv().is_ok() {}
    Ok(())
}

fn matters(event: &notify::Result<notify::Event>, ignored: &Path, args: &RunArgs) -> bool {
    let Ok(event) = event else {
        return false;
    };
    if event.kind.is_access() {
        return false;
    }
    let root = watched_paths(args).remove(0).0;
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    event.paths.iter().any(|path| {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
        let own_file = [args.resource.as_ref(), args.config.as_ref()]
            .into_iter()
            .flatten()
            .any(|f| same_file(f, path));
        !canonical.starts_with(ignored)
            && !path.components().any(|c| c.as_os_str() == ".git")
            && (canonical.starts_with(&root) || own_file)
    })
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a.file_name() == b.file_name(),
    }
}
