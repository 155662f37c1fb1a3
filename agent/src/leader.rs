//! Leader election on a `coordination.k8s.io` Lease, so that of several
//! replicas exactly one runs the controllers. It follows client-go's rules,
//! which trust no clock but the replica's own:
//!
//! - a standby times a lease from when it *saw the record change*, never from
//!   the `renewTime` the holder wrote with its clock;
//! - every call to the API server is bounded by a timeout;
//! - the leader stops acting at a local deadline measured from when its last
//!   successful renewal was *sent*, [`RENEW_DEADLINE`] after it: sooner than a
//!   standby that saw that renewal land can take over ([`LEASE_DURATION`]).
//!
//! A replica that cannot renew in time exits (and is restarted as a standby)
//! rather than risk two leaders; one that is shut down hands the lease over.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How long a lease holds, for a standby, after it saw the record change.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How long after sending its last successful renewal the leader keeps acting.
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// How often the leader renews and a standby looks.
pub const RETRY_EVERY: Duration = Duration::from_secs(2);
/// The longest one call to the API server may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// What to do with the lease as it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseDecision {
    /// Free or expired: take it.
    Take,
    /// Ours: renew it.
    Renew,
    /// Someone else's and live: look again after this long.
    Wait(Duration),
}

/// A lease record as a standby last saw it, and when it saw it change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    record: String,
    at: Instant,
}

/// What identifies one renewal: any change of it is the holder showing life.
fn record_of(spec: &LeaseSpec) -> String {
    format!(
        "{}|{}|{}|{}",
        spec.holder_identity.as_deref().unwrap_or_default(),
        spec.renew_time
            .as_ref()
            .map(|t| t.0.to_string())
            .unwrap_or_default(),
        spec.acquire_time
            .as_ref()
            .map(|t| t.0.to_string())
            .unwrap_or_default(),
        spec.lease_transitions.unwrap_or_default()
    )
}

/// The decision on the lease as read at `now`, with what this replica saw
/// before (`observed`, updated here).
pub fn decide(
    spec: Option<&LeaseSpec>,
    identity: &str,
    observed: &mut Option<Observed>,
    now: Instant,
) -> LeaseDecision {
    let Some(spec) = spec else {
        return LeaseDecision::Take;
    };
    let holder = spec.holder_identity.as_deref().unwrap_or_default();
    if holder.is_empty() {
        return LeaseDecision::Take;
    }
    if holder == identity {
        return LeaseDecision::Renew;
    }
    let record = record_of(spec);
    let since = match observed {
        Some(seen) if seen.record == record => seen.at,
        _ => {
            *observed = Some(Observed { record, at: now });
            now
        }
    };
    let seconds = spec
        .lease_duration_seconds
        .and_then(|s| u64::try_from(s).ok())
        .unwrap_or(LEASE_DURATION.as_secs());
    let expires = since + Duration::from_secs(seconds);
    if expires <= now {
        LeaseDecision::Take
    } else {
        LeaseDecision::Wait(expires - now)
    }
}

/// One replica's side of the election.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
    /// The record as this replica last saw it (a standby's clock).
    observed: Mutex<Option<Observed>>,
    /// When this replica, as the leader, must stop acting.
    deadline: Mutex<Option<Instant>>,
}

impl Elector {
    pub fn new(client: kube::Client, namespace: &str, name: &str, identity: String) -> Self {
        Elector {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity,
            observed: Mutex::new(None),
            deadline: Mutex::new(None),
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// One attempt to take or renew the lease, bounded by `limit`: `Ok(None)`
    /// when we hold it now, `Ok(Some(wait))` when another replica does.
    async fn try_hold(&self, limit: Duration) -> Result<Option<Duration>, String> {
        match tokio::time::timeout(limit, self.hold()).await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "the API server did not answer within {} s",
                limit.as_secs_f32()
            )),
        }
    }

    async fn hold(&self) -> Result<Option<Duration>, kube::Error> {
        let existing = self.api.get_opt(&self.name).await?;
        let decision = {
            let mut observed = self.observed.lock().await;
            decide(
                existing.as_ref().and_then(|l| l.spec.as_ref()),
                &self.identity,
                &mut observed,
                Instant::now(),
            )
        };
        let mut spec = existing.as_ref().and_then(|l| l.spec.clone()).unwrap_or_default();
        // The holder's clock is written for people to read; no replica decides by it.
        let now = Timestamp::now();
        match decision {
            LeaseDecision::Wait(wait) => return Ok(Some(wait)),
            LeaseDecision::Take => {
                spec.holder_identity = Some(self.identity.clone());
                spec.acquire_time = Some(MicroTime(now));
                spec.lease_transitions = Some(spec.lease_transitions.unwrap_or_default() + 1);
            }
            LeaseDecision::Renew => {}
        }
        spec.renew_time = Some(MicroTime(now));
        spec.lease_duration_seconds = Some(LEASE_DURATION.as_secs() as i32);
        match existing {
            // The resourceVersion makes this a compare-and-swap: of two
            // replicas taking an expired lease, one gets a conflict.
            Some(mut lease) => {
                lease.spec = Some(spec);
                self.api
                    .replace(&self.name, &PostParams::default(), &lease)
                    .await?;
            }
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.name.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(spec),
                };
                self.api.create(&PostParams::default(), &lease).await?;
            }
        }
        Ok(None)
    }

    /// Waits until this replica holds the lease.
    pub async fn acquire(&self) {
        loop {
            let sent = Instant::now();
            match self.try_hold(CALL_TIMEOUT).await {
                Ok(None) => {
                    *self.deadline.lock().await = Some(sent + RENEW_DEADLINE);
                    tracing::info!(identity = %self.identity, lease = %self.name, "became the leader");
                    return;
                }
                Ok(Some(wait)) => {
                    tracing::debug!(?wait, "another replica leads; standing by");
                    tokio::time::sleep(wait.min(RETRY_EVERY)).await;
                }
                Err(error) => {
                    tracing::debug!(%error, "taking the lease failed; retrying");
                    tokio::time::sleep(RETRY_EVERY).await;
                }
            }
        }
    }

    /// Renews the lease until it is lost, and returns why at the latest at the
    /// local deadline of the last successful renewal, whatever the API server
    /// does meanwhile.
    pub async fn keep(&self) -> String {
        loop {
            let Some(deadline) = *self.deadline.lock().await else {
                return "this replica never held the lease".to_owned();
            };
            tokio::time::sleep_until((Instant::now() + RETRY_EVERY).min(deadline)).await;
            let sent = Instant::now();
            let left = deadline.saturating_duration_since(sent);
            if left.is_zero() {
                return format!(
                    "the lease was not renewed within {} s of the last renewal",
                    RENEW_DEADLINE.as_secs()
                );
            }
            match self.try_hold(left.min(CALL_TIMEOUT)).await {
                Ok(None) => *self.deadline.lock().await = Some(sent + RENEW_DEADLINE),
                Ok(Some(_)) => return "another replica holds the lease".to_owned(),
                Err(error) => tracing::warn!(%error, "renewing the lease failed; retrying"),
            }
        }
    }

    /// Gives the lease up, so a standby takes over without waiting for it to expire.
    pub async fn release(&self) {
        let release = async {
            let Ok(Some(mut lease)) = self.api.get_opt(&self.name).await else {
                return;
            };
            let Some(spec) = lease.spec.as_mut() else {
                return;
            };
            if spec.holder_identity.as_deref() != Some(&self.identity) {
                return;
            }
            spec.holder_identity = None;
            spec.renew_time = None;
            match self.api.replace(&self.name, &PostParams::default(), &lease).await {
                Ok(_) => tracing::info!("released the leader lease"),
                Err(error) => tracing::warn!(%error, "releasing the lease failed; it expires on its own"),
            }
        };
        if tokio::time::timeout(CALL_TIMEOUT, release).await.is_err() {
            tracing::warn!("releasing the lease took too long; it expires on its own");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_by(holder: &str, renewed: &str) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            renew_time: Some(MicroTime(renewed.parse().expect("time"))),
            lease_duration_seconds: Some(15),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_free_lease_is_taken_and_ours_renewed() {
        let now = Instant::now();
        let mut seen = None;
        assert_eq!(decide(None, "me", &mut seen, now), LeaseDecision::Take);
        assert_eq!(
            decide(Some(&LeaseSpec::default()), "me", &mut seen, now),
            LeaseDecision::Take
        );
        assert_eq!(
            decide(Some(&held_by("me", "2026-01-01T00:00:00Z")), "me", &mut seen, now),
            LeaseDecision::Renew
        );
    }

    #[test]
    fn a_standby_times_the_lease_by_its_own_clock_from_the_last_change_it_saw() {
        let start = Instant::now();
        let mut seen = None;
        // The holder's clock says the renewal is a year old: no matter.
        let stale_clock = held_by("other", "2025-01-01T00:00:00Z");
        assert_eq!(
            decide(Some(&stale_clock), "me", &mut seen, start),
            LeaseDecision::Wait(LEASE_DURATION)
        );
        let later = start + Duration::from_secs(10);
        assert_eq!(
            decide(Some(&stale_clock), "me", &mut seen, later),
            LeaseDecision::Wait(Duration::from_secs(5))
        );
        // A renewal seen resets the count, whatever time it claims.
        let renewed = held_by("other", "2024-06-01T00:00:00Z");
        assert_eq!(
            decide(Some(&renewed), "me", &mut seen, later),
            LeaseDecision::Wait(LEASE_DURATION)
        );
        assert_eq!(
            decide(Some(&renewed), "me", &mut seen, later + LEASE_DURATION),
            LeaseDecision::Take
        );
        // The holder's clock far ahead does not keep a dead lease alive.
        let mut fresh = None;
        let future_clock = held_by("other", "2099-01-01T00:00:00Z");
        decide(Some(&future_clock), "me", &mut fresh, start);
        assert_eq!(
            decide(Some(&future_clock), "me", &mut fresh, start + LEASE_DURATION),
            LeaseDecision::Take
        );
    }

    #[test]
    fn the_leader_stops_before_a_standby_may_take_over() {
        assert!(RENEW_DEADLINE + CALL_TIMEOUT / 2 < LEASE_DURATION);
        assert!(RETRY_EVERY < RENEW_DEADLINE);
    }
}
