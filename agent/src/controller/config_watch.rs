//! The `kratix` ConfigMap: read at start, and read again whenever it changes,
//! so a new setting applies to the next pipeline without a restart.

use std::sync::Arc;

use futures::StreamExt as _;
use k8s_openapi::api::core::v1::ConfigMap;
use kratix_shared::api::config::{CONFIGMAP_KEY, CONFIGMAP_NAME, KratixConfig};
use kratix_shared::api::labels::SYSTEM_NAMESPACE;
use kube::api::Api;
use kube::runtime::{WatchStreamExt as _, watcher};

use crate::controller::base::context::Agent;

fn source() -> String {
    format!("configmap {SYSTEM_NAMESPACE}/{CONFIGMAP_NAME}")
}

/// The config a ConfigMap holds; a ConfigMap without the `config` key is an
/// error, as in Kratix.
pub fn parse(config_map: &ConfigMap) -> Result<KratixConfig, String> {
    let source = source();
    let text = config_map
        .data
        .as_ref()
        .and_then(|d| d.get(CONFIGMAP_KEY))
        .ok_or_else(|| {
            format!("{source}: data.{CONFIGMAP_KEY} is missing; add it or delete the ConfigMap")
        })?;
    let loaded = KratixConfig::from_config_yaml(&source, text).map_err(|e| e.to_string())?;
    for warning in &loaded.warnings {
        tracing::warn!(path = %warning.path, "{source}: {}", warning.message);
    }
    Ok(loaded.config)
}

/// Reads the config once; `None` when there is no ConfigMap.
pub async fn load(client: &kube::Client) -> Result<Option<KratixConfig>, String> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), SYSTEM_NAMESPACE);
    match api.get_opt(CONFIGMAP_NAME).await {
        Ok(Some(config_map)) => parse(&config_map).map(Some),
        Ok(None) => Ok(None),
        Err(error) => Err(format!("reading the {}: {error}", source())),
    }
}

/// Follows the ConfigMap. A change that does not parse is logged and the
/// config in use is kept: a typo must not stop running workflows.
pub async fn run(agent: Arc<Agent>) {
    let api: Api<ConfigMap> = Api::namespaced(agent.client.clone(), SYSTEM_NAMESPACE);
    let config = watcher::Config::default().fields(&format!("metadata.name={CONFIGMAP_NAME}"));
    let mut events = watcher(api, config).default_backoff().boxed();
    while let Some(event) = events.next().await {
        let next = match event {
            Ok(watcher::Event::Apply(config_map) | watcher::Event::InitApply(config_map)) => {
                match parse(&config_map) {
                    Ok(config) => Some(Arc::new(config)),
                    Err(error) => {
                        tracing::error!("{error}; keeping the config in use");
                        continue;
                    }
                }
            }
            Ok(watcher::Event::Delete(_)) => None,
            Ok(watcher::Event::Init | watcher::Event::InitDone) => continue,
            Err(error) => {
                tracing::warn!(%error, "watching the kratix ConfigMap failed; retrying");
                continue;
            }
        };
        let policy = |config: &Option<Arc<KratixConfig>>| config.as_ref().map(|c| c.promise_policy.clone());
        let policy_changed = {
            let mut current = agent
                .config
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let changed = policy(&current) != policy(&next);
            if current.as_deref() != next.as_deref() {
                tracing::info!("the kratix config changed; new pipelines use it");
                *current = next;
            }
            changed
        };
        if policy_changed {
            // Every Promise is checked against the new policy.
            agent.promise_policy_changed.send_replace(());
        }
    }
}
