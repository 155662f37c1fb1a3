//! Named points where the agent kills itself (SIGKILL, or abort as PID 1), once, so that the
//! crash-recovery suite can stop it exactly between two steps of a workflow.
//!
//! Inert unless `KRATIX_AGENT_CRASH_AT` names points (comma-separated) and
//! `KRATIX_AGENT_CRASH_MARKERS` names a directory that outlives the process
//! (an emptyDir): a point's marker file is written before the kill, so the
//! restarted agent goes past it.

use std::path::PathBuf;
use std::sync::OnceLock;

/// The progress of a pipeline is recorded; nothing is applied yet.
pub const PROGRESS_RECORDED: &str = "progress-recorded";
/// The pipeline's service account and RBAC exist; its Job does not.
pub const RBAC_APPLIED: &str = "rbac-applied";
/// The Job exists; the agent has not looked at it since.
pub const JOB_CREATED: &str = "job-created";
/// The Job finished (its status-writer wrote the status); the agent has not recorded it.
pub const JOB_FINISHED_UNRECORDED: &str = "job-finished-unrecorded";
/// The delete pipeline completed; its finalizer is still on the object.
pub const DELETE_COMPLETED: &str = "delete-completed";
/// The Works were deleted; the work-cleanup finalizer is still on the object.
pub const WORKS_DELETED: &str = "works-deleted";
/// A request's Jobs were deleted; the workflows-cleanup finalizer is still on it.
pub const JOBS_DELETED: &str = "jobs-deleted";
/// A Promise's delete pipeline completed; its finalizer is still on the Promise.
pub const PROMISE_DELETE_COMPLETED: &str = "promise-delete-completed";
/// A Promise's requests were asked to go; its request-cleanup finalizer stays.
pub const REQUESTS_DELETED: &str = "requests-deleted";
/// A Promise's dependency Works were deleted; its dependencies finalizer stays.
pub const DEPENDENCIES_DELETED: &str = "dependencies-deleted";
/// A Promise's API CRD was deleted; its CRD finalizer is still on the Promise.
pub const CRD_DELETED: &str = "crd-deleted";
/// A placement's files are in the state store; its status does not say so yet.
pub const STORE_WRITTEN_UNRECORDED: &str = "store-written-unrecorded";

struct Armed {
    points: Vec<String>,
    markers: PathBuf,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let points = std::env::var("KRATIX_AGENT_CRASH_AT").ok()?;
            let markers = std::env::var_os("KRATIX_AGENT_CRASH_MARKERS")?;
            Some(Armed {
                points: points
                    .split(',')
                    .map(|p| p.trim().to_owned())
                    .filter(|p| !p.is_empty())
                    .collect(),
                markers: PathBuf::from(markers),
            })
        })
        .as_ref()
}

/// Kills the process here if `point` is armed and has not fired yet.
pub fn crash_point(point: &str) {
    let Some(armed) = armed() else { return };
    if !armed.points.iter().any(|p| p == point) {
        return;
    }
    let marker = armed.markers.join(point);
    if marker.exists() {
        return;
    }
    if let Err(error) = std::fs::write(&marker, point) {
        tracing::error!(%error, marker = %marker.display(), "crash point marker not written; not crashing");
        return;
    }
    tracing::warn!(point, "crash point: SIGKILL");
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    // Still here: as a container's PID 1 the agent ignores signals it sends
    // itself. abort() ends it just as abruptly (no destructors, no Lease
    // release, no further API call).
    std::process::abort();
}
