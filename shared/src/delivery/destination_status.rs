//! A Destination's `Ready`, in Kratix's words where Kratix has them: its store
//! missing or not ready, a path another Destination of the store already
//! has, the canary files written or not. The agent finds the store and writes;
//! these say what the Destination reports.

use crate::api::conditions::{reasons, status as state, types};
use crate::api::destination::Destination;
use crate::delivery::state_layout;
use crate::workflow::conditions::Condition;

fn ready(status: &'static str, reason: &'static str, message: String) -> Condition {
    Condition {
        type_: types::READY,
        status,
        reason,
        message,
    }
}

/// The Destination's store cannot be found: Kratix's words for its own store
/// kinds (its Destination tests look for them), else what the lookup said.
pub fn store_not_found(kind: &str, name: &str, lookup: String) -> Condition {
    if matches!(kind, "GitStateStore" | "BucketStateStore") {
        ready(
            state::FALSE,
            reasons::STATE_STORE_NOT_FOUND,
            format!("{kind}/{name}: not found"),
        )
    } else {
        ready(state::FALSE, reasons::DESTINATION_NOT_READY, lookup)
    }
}

/// Something of the Destination itself stops it (its path, its store's
/// settings): `message` says what to change.
pub fn not_ready(message: String) -> Condition {
    ready(state::FALSE, reasons::DESTINATION_NOT_READY, message)
}

/// As Kratix: a Destination is as ready as its store; the store's own
/// condition says why.
pub fn store_not_ready(kind: &str, name: &str) -> Condition {
    ready(
        state::FALSE,
        reasons::STATE_STORE_NOT_READY,
        format!("{kind}/{name}: not ready"),
    )
}

/// The name of the first other live Destination of the same store writing to
/// the same path, when there is one: two would overwrite each other's files.
pub fn sharing_path<'a>(
    destination: &Destination,
    others: impl IntoIterator<Item = &'a Destination>,
) -> Option<String> {
    let name = destination.metadata.name.as_deref().unwrap_or_default();
    let path = state_layout::join(&[&destination.spec.path]);
    others
        .into_iter()
        .filter(|other| {
            other.metadata.name.as_deref().unwrap_or_default() != name
                && other.metadata.deletion_timestamp.is_none()
                && other.spec.state_store_ref == destination.spec.state_store_ref
                && state_layout::join(&[&other.spec.path]) == path
        })
        .filter_map(|other| other.metadata.name.clone())
        .min()
}

/// `Ready` False for a path another Destination of the store has.
pub fn shared_path(destination: &Destination, other: &str, store_kind: &str, store_name: &str) -> Condition {
    not_ready(format!(
        "spec.path {:?} is also the path of Destination {other} in {store_kind} {store_name}; give each Destination of a store its own path",
        destination.spec.path
    ))
}

/// Whether the Destination has its canary files written (Kratix's default).
pub fn writes_canaries(destination: &Destination) -> bool {
    destination
        .spec
        .init_workloads
        .as_ref()
        .and_then(|i| i.enabled)
        .unwrap_or(true)
}

/// After the canary files were written (or, without them, the store probed):
/// `Ready` True, or why not; `error` is the store's answer.
pub fn after_write(
    writes_canaries: bool,
    store_kind: &str,
    store_name: &str,
    error: Option<String>,
) -> Condition {
    match (writes_canaries, error) {
        (true, None) => ready(
            state::TRUE,
            reasons::TEST_DOCUMENTS_WRITTEN,
            "Test documents written to State Store".to_owned(),
        ),
        (false, None) => ready(
            state::TRUE,
            reasons::DESTINATION_READY,
            "Destination is ready".to_owned(),
        ),
        (true, Some(error)) => ready(
            state::FALSE,
            reasons::STATE_STORE_WRITE_FAILED,
            format!("Failed to write test documents to State Store: {error}"),
        ),
        (false, Some(_)) => store_not_ready(store_kind, store_name),
    }
}

/// Removing the canary files of a Destination being deleted failed.
pub fn canaries_not_removed(error: &str) -> Condition {
    ready(
        state::FALSE,
        reasons::STATE_STORE_WRITE_FAILED,
        format!("removing the canary files: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn destination(name: &str, store: &str, path: &str) -> Destination {
        serde_json::from_value(json!({
            "apiVersion": "platform.kratix.io/v1alpha1", "kind": "Destination",
            "metadata": {"name": name},
            "spec": {"path": path, "stateStoreRef": {"kind": "GitStateStore", "name": store}}
        }))
        .expect("a Destination")
    }

    #[test]
    fn kratix_words_a_missing_store_of_its_own_kinds() {
        let git = store_not_found("GitStateStore", "main", "lookup".to_owned());
        assert_eq!(
            (git.reason, git.message.as_str()),
            ("StateStoreNotFound", "GitStateStore/main: not found")
        );
        let other = store_not_found("S3Store", "x", "kind S3Store is not a state store".to_owned());
        assert_eq!(
            (other.reason, other.message.as_str()),
            ("DestinationNotReady", "kind S3Store is not a state store")
        );
    }

    #[test]
    fn a_path_shared_within_a_store_names_the_first_other() {
        let me = destination("dev", "main", "clusters/a/");
        let all = [
            me.clone(),
            destination("zeta", "main", "clusters/a"),
            destination("beta", "main", "clusters/a"),
            destination("other-store", "second", "clusters/a"),
            destination("other-path", "main", "clusters/b"),
        ];
        assert_eq!(sharing_path(&me, &all).as_deref(), Some("beta"));
        assert_eq!(sharing_path(&me, &all[3..]), None);
        let condition = shared_path(&me, "beta", "GitStateStore", "main");
        assert_eq!(condition.status, "False");
        assert!(
            condition
                .message
                .contains("Destination beta in GitStateStore main"),
            "{}",
            condition.message
        );
    }

    #[test]
    fn ready_follows_the_write_in_kratixs_words() {
        let written = after_write(true, "GitStateStore", "main", None);
        assert_eq!((written.status, written.reason), ("True", "TestDocumentsWritten"));
        let probed = after_write(false, "GitStateStore", "main", None);
        assert_eq!(
            (probed.status, probed.message.as_str()),
            ("True", "Destination is ready")
        );
        let failed = after_write(true, "GitStateStore", "main", Some("denied".to_owned()));
        assert_eq!(
            failed.message,
            "Failed to write test documents to State Store: denied"
        );
        let unreachable = after_write(false, "BucketStateStore", "b", Some("timeout".to_owned()));
        assert_eq!(
            (unreachable.reason, unreachable.message.as_str()),
            ("StateStoreNotReady", "BucketStateStore/b: not ready")
        );
    }

    #[test]
    fn canaries_are_written_unless_switched_off() {
        let mut d = destination("dev", "main", "p");
        assert!(writes_canaries(&d));
        d.spec.init_workloads = serde_json::from_value(json!({"enabled": false})).expect("init workloads");
        assert!(!writes_canaries(&d));
    }
}
