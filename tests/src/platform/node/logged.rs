//! Running a process with its output captured, line by line and timestamped,
//! into a container log file.

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::Mutex;

/// Runs `command` to completion, appending `<RFC 3339 time> <line>` for every
/// line of stdout and stderr to `log`. Returns the exit code (137 when killed).
pub async fn run(mut command: Command, log: &Path) -> std::io::Result<i32> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .await?;
    let writer = Arc::new(Mutex::new(file));
    let streams: [Option<Box<dyn AsyncRead + Unpin + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn AsyncRead + Unpin + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn AsyncRead + Unpin + Send>),
    ];
    let mut pumps = Vec::new();
    for stream in streams.into_iter().flatten() {
        let writer = writer.clone();
        pumps.push(tokio::spawn(async move {
            let mut lines = BufReader::new(stream).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let stamped = format!("{} {line}\n", Timestamp::now());
                let mut file = writer.lock().await;
                let _ = file.write_all(stamped.as_bytes()).await;
                let _ = file.flush().await;
            }
        }));
    }
    let status = child.wait().await?;
    for pump in pumps {
        let _ = pump.await;
    }
    Ok(status.code().unwrap_or(137))
}
