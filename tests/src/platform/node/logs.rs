//! Container logs from the kubelet's log files, with the kubelet's query
//! parameters: `follow`, `previous`, `sinceSeconds`, `sinceTime`, `tailLines`,
//! `timestamps` and `limitBytes` (the API server passes kubectl's on).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;

/// The query parameters of a log request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    pub container: Option<String>,
    pub follow: bool,
    pub previous: bool,
    pub since_seconds: Option<i64>,
    /// RFC 3339, as `sinceTime` carries it.
    pub since_time: Option<Timestamp>,
    pub tail_lines: Option<usize>,
    pub timestamps: bool,
    pub limit_bytes: Option<usize>,
}

impl LogOptions {
    pub fn from_query(query: Option<&str>) -> LogOptions {
        let mut options = LogOptions::default();
        for pair in query.unwrap_or_default().split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let truthy = matches!(value, "true" | "1" | "");
            match key {
                "container" => options.container = Some(value.to_owned()).filter(|c| !c.is_empty()),
                "follow" => options.follow = truthy,
                "previous" => options.previous = truthy,
                "timestamps" => options.timestamps = truthy,
                "sinceSeconds" => options.since_seconds = value.parse().ok(),
                "sinceTime" => options.since_time = decode(value).parse().ok(),
                "limitBytes" => options.limit_bytes = value.parse().ok(),
                "tailLines" => options.tail_lines = value.parse().ok(),
                _ => {}
            }
        }
        options
    }
}

/// Undoes the percent-encoding of a query value (`sinceTime` carries `:`).
fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&value[i + 1..i + 3], 16) {
                Ok(byte) => {
                    out.push(byte);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a log cannot be served (a 400 or 404 with this message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogError(pub String);

/// Picks the container and log file a request means.
pub fn locate(pod: &Pod, pod_dir: &Path, options: &LogOptions) -> Result<(PathBuf, String), LogError> {
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let main: Vec<String> = spec.containers.iter().map(|c| c.name.clone()).collect();
    let init: Vec<String> = spec
        .init_containers
        .iter()
        .flatten()
        .map(|c| c.name.clone())
        .collect();
    let container = match &options.container {
        Some(container) => container.clone(),
        None if main.len() == 1 && init.is_empty() => main[0].clone(),
        None => {
            return Err(LogError(format!(
                "a container name must be specified for pod {pod_name}, choose one of: [{}]{}",
                main.join(" "),
                if init.is_empty() {
                    String::new()
                } else {
                    format!(" or one of the init containers: [{}]", init.join(" "))
                }
            )));
        }
    };
    if !main.contains(&container) && !init.contains(&container) {
        return Err(LogError(format!(
            "container {container} is not valid for pod {pod_name}"
        )));
    }
    let status = pod.status.clone().unwrap_or_default();
    let entry = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten())
        .find(|c| c.name == container);
    let restarts = entry.map(|c| c.restart_count).unwrap_or_default();
    let restart = if options.previous {
        if restarts == 0 {
            return Err(LogError(format!(
                "previous terminated container \"{container}\" in pod \"{pod_name}\" not found"
            )));
        }
        restarts - 1
    } else {
        restarts
    };
    let file = crate::platform::node::kubelet::log_file(pod_dir, &container, restart);
    if !file.is_file() {
        let reason = entry
            .and_then(|c| c.state.as_ref())
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone())
            .unwrap_or_else(|| "PodInitializing".to_owned());
        return Err(LogError(format!(
            "container \"{container}\" in pod \"{pod_name}\" is waiting to start: {reason}"
        )));
    }
    Ok((file, container))
}

/// Filters stored lines (`<RFC 3339 timestamp> <text>`) by the options.
pub fn render(content: &str, options: &LogOptions, now: Timestamp) -> String {
    let cutoff = match (options.since_seconds, options.since_time) {
        (Some(seconds), _) => Some(now.as_second() - seconds),
        (None, Some(time)) => Some(time.as_second()),
        (None, None) => None,
    };
    let lines: Vec<&str> = content
        .lines()
        .filter(|line| match cutoff {
            None => true,
            Some(cutoff) => line
                .split_once(' ')
                .and_then(|(stamp, _)| stamp.parse::<Timestamp>().ok())
                .is_some_and(|stamp| stamp.as_second() >= cutoff),
        })
        .collect();
    let start = options.tail_lines.map_or(0, |n| lines.len().saturating_sub(n));
    let mut out = String::new();
    for line in &lines[start..] {
        if options.timestamps {
            out.push_str(line);
        } else {
            out.push_str(line.split_once(' ').map_or(*line, |(_, text)| text));
        }
        out.push('\n');
    }
    if let Some(limit) = options.limit_bytes
        && out.len() > limit
    {
        let mut end = limit;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

/// Follows a log file: what is there (after filtering), then new lines until
/// the container ends (its `.done` marker appears).
pub fn follow(
    file: PathBuf,
    options: LogOptions,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    let done = file.with_extension("done");
    futures::stream::unfold((0usize, true, false), move |(offset, first, finished)| {
        let (file, done, options) = (file.clone(), done.clone(), options.clone());
        async move {
            if finished {
                return None;
            }
            loop {
                let ended = done.exists();
                let content = tokio::fs::read(&file).await.unwrap_or_default();
                // Only whole lines; a partial last line waits for its newline.
                let complete = content[offset.min(content.len())..]
                    .iter()
                    .rposition(|b| *b == b'\n')
                    .map_or(offset, |end| offset + end + 1);
                if complete > offset || first {
                    let text = String::from_utf8_lossy(&content[offset..complete]).into_owned();
                    let chunk = if first {
                        render(&text, &options, Timestamp::now())
                    } else {
                        render(
                            &text,
                            &LogOptions {
                                timestamps: options.timestamps,
                                ..LogOptions::default()
                            },
                            Timestamp::now(),
                        )
                    };
                    return Some((Ok(Bytes::from(chunk)), (complete, false, false)));
                }
                if ended {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "spec": {"initContainers": [{"name": "reader"}], "containers": [{"name": "status-writer"}]},
            "status": {"containerStatuses": [{"name": "status-writer", "restartCount": 1, "image": "", "imageID": "", "ready": false}]}
        }))
        .expect("pod")
    }

    #[test]
    fn parses_kubectl_parameters() {
        let options = LogOptions::from_query(Some(
            "container=c&follow=true&tailLines=5&sinceSeconds=60&timestamps=true&previous=false",
        ));
        assert_eq!(
            options,
            LogOptions {
                container: Some("c".into()),
                follow: true,
                previous: false,
                since_seconds: Some(60),
                since_time: None,
                tail_lines: Some(5),
                timestamps: true,
                limit_bytes: None,
            }
        );
    }

    #[test]
    fn a_container_must_be_named_when_there_are_several() {
        let error = locate(&pod(), Path::new("/nonexistent"), &LogOptions::default()).unwrap_err();
        assert_eq!(
            error.0,
            "a container name must be specified for pod p, choose one of: [status-writer] or one of the init containers: [reader]"
        );
        let error = locate(
            &pod(),
            Path::new("/x"),
            &LogOptions {
                container: Some("nope".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert_eq!(error.0, "container nope is not valid for pod p");
    }

    #[test]
    fn previous_reads_the_last_restart_and_missing_files_are_waiting() {
        let dir = tempfile::tempdir().expect("tempdir");
        let options = LogOptions {
            container: Some("status-writer".into()),
            previous: true,
            ..Default::default()
        };
        let file = crate::platform::node::kubelet::log_file(dir.path(), "status-writer", 0);
        std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        std::fs::write(&file, "").expect("write");
        assert_eq!(locate(&pod(), dir.path(), &options).expect("found").0, file);
        let current = LogOptions {
            container: Some("status-writer".into()),
            ..Default::default()
        };
        assert!(
            locate(&pod(), dir.path(), &current)
                .unwrap_err()
                .0
                .contains("is waiting to start")
        );
    }

    #[test]
    fn since_time_and_byte_limits() {
        let options = LogOptions::from_query(Some("sinceTime=2026-01-01T00%3A01%3A00Z&limitBytes=4"));
        assert_eq!(
            options.since_time,
            Some("2026-01-01T00:01:00Z".parse().expect("time"))
        );
        let content = "2026-01-01T00:00:00Z one\n2026-01-01T00:01:00Z two\n2026-01-01T00:02:00Z three\n";
        let now: Timestamp = "2026-01-01T00:02:30Z".parse().expect("time");
        assert_eq!(render(content, &options, now), "two\n");
    }

    #[test]
    fn renders_tail_since_and_timestamps() {
        let content = "2026-01-01T00:00:00Z one\n2026-01-01T00:01:00Z two\n2026-01-01T00:02:00Z three\n";
        let now: Timestamp = "2026-01-01T00:02:30Z".parse().expect("time");
        assert_eq!(render(content, &LogOptions::default(), now), "one\ntwo\nthree\n");
        assert_eq!(
            render(
                content,
                &LogOptions {
                    tail_lines: Some(1),
                    ..Default::default()
                },
                now
            ),
            "three\n"
        );
        assert_eq!(
            render(
                content,
                &LogOptions {
                    since_seconds: Some(100),
                    ..Default::default()
                },
                now
            ),
            "two\nthree\n"
        );
        assert_eq!(
            render(
                content,
                &LogOptions {
                    tail_lines: Some(1),
                    timestamps: true,
                    ..Default::default()
                },
                now
            ),
            "2026-01-01T00:02:00Z three\n"
        );
    }
}
