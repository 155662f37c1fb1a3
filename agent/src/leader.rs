//! Leader election on a `coordination.k8s.io` Lease, so that of several
//! replicas exactly one runs the controllers. A replica that cannot renew its
//! lease in time stops (and is restarted as a standby) rather than risk two
//! leaders; one that is shut down hands the lease over at once.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};

/// How long a lease holds without renewal, how often the leader renews, and
/// how often a standby looks.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
pub const RENEW_EVERY: Duration = Duration::from_secs(5);
pub const RETRY_EVERY: Duration = Duration::from_secs(2);

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

pub fn decide(spec: Option<&LeaseSpec>, identity: &str, now: Timestamp) -> LeaseDecision {
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
    let Some(renewed) = spec.renew_time.as_ref().map(|t| t.0) else {
        return LeaseDecision::Take;
    };
    let seconds = spec
        .lease_duration_seconds
        .unwrap_or(LEASE_DURATION.as_secs() as i32);
    let expires = renewed
        .checked_add(SignedDuration::from_secs(i64::from(seconds)))
        .unwrap_or(Timestamp::MAX);
    if expires <= now {
        LeaseDecision::Take
    } else {
        LeaseDecision::Wait(expires.duration_since(now).unsigned_abs())
    }
}

/// One replica's side of the election.
pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
}

impl Elector {
    pub fn new(client: kube::Client, namespace: &str, name: &str, identity: String) -> Self {
        Elector {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity,
        }
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// One attempt to take or renew the lease; `Ok(None)` when we hold it now,
    /// `Ok(Some(wait))` when another replica does.
    async fn try_hold(&self) -> Result<Option<Duration>, kube::Error> {
        let now = Timestamp::now();
        let existing = self.api.get_opt(&self.name).await?;
        let decision = decide(
            existing.as_ref().and_then(|l| l.spec.as_ref()),
            &self.identity,
            now,
        );
        let mut spec = existing.as_ref().and_then(|l| l.spec.clone()).unwrap_or_default();
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
            match self.try_hold().await {
                Ok(None) => {
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

    /// Renews the lease until it is lost; returns why.
    pub async fn keep(&self) -> String {
        let mut last_renewal = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(RENEW_EVERY).await;
            match self.try_hold().await {
                Ok(None) => last_renewal = tokio::time::Instant::now(),
                Ok(Some(_)) => return "another replica holds the lease".to_owned(),
                Err(error) if last_renewal.elapsed() >= LEASE_DURATION - RENEW_EVERY => {
                    return format!("the lease could not be renewed in time: {error}");
                }
                Err(error) => tracing::warn!(%error, "renewing the lease failed; retrying"),
            }
        }
    }

    /// Gives the lease up, so a standby takes over without waiting for it to expire.
    pub async fn release(&self) {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().expect("time")
    }

    fn held_by(holder: &str, renewed: &str) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_owned()),
            renew_time: Some(MicroTime(at(renewed))),
            lease_duration_seconds: Some(15),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_free_or_expired_lease_is_taken_a_live_one_awaited() {
        let now = at("2026-01-01T00:00:10Z");
        assert_eq!(decide(None, "me", now), LeaseDecision::Take);
        assert_eq!(
            decide(Some(&LeaseSpec::default()), "me", now),
            LeaseDecision::Take
        );
        assert_eq!(
            decide(Some(&held_by("other", "2026-01-01T00:00:00Z")), "me", now),
            LeaseDecision::Wait(Duration::from_secs(5))
        );
        assert_eq!(
            decide(
                Some(&held_by("other", "2026-01-01T00:00:00Z")),
                "me",
                at("2026-01-01T00:00:15Z")
            ),
            LeaseDecision::Take
        );
        assert_eq!(
            decide(Some(&held_by("me", "2026-01-01T00:00:00Z")), "me", now),
            LeaseDecision::Renew
        );
    }
}
