//! Asking the API server about access: a RESOURCE as `kubectl auth can-i`
//! writes it, resolved by discovery into what RBAC evaluates, and a
//! SubjectAccessReview for a ServiceAccount.

use anyhow::{Result, bail};
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use kratix_shared::report::rbac_grants::{Access, ServiceAccountRef};
use kube::api::{Api, PostParams};
use kube::discovery::{Discovery, Scope};

use crate::cluster::{Cluster, explain};

/// `kubectl auth can-i`'s RESOURCE: `pods`, `pods/log`, `deployments.apps`,
/// a kind or a singular name, resolved by discovery.
pub struct Target {
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespaced: bool,
}

pub async fn resolve(cluster: &Cluster, text: &str) -> Result<Target> {
    let (resource, subresource) = text.split_once('/').unwrap_or((text, ""));
    // `deployments.v1.apps` names a version too, as kubectl accepts: the group is what RBAC needs.
    let (name, group) = match resource.split_once('.') {
        Some((name, group)) => {
            let group = match group.split_once('.') {
                Some((version, rest))
                    if version.starts_with('v') && version[1..].starts_with(|c: char| c.is_ascii_digit()) =>
                {
                    rest
                }
                _ => group,
            };
            (name, Some(group))
        }
        None => (resource, None),
    };
    let name = name.to_ascii_lowercase();
    let discovery = Discovery::new(cluster.client.clone())
        .run()
        .await
        .map_err(|e| explain(&e, cluster, "discovering the API's resources"))?;
    let mut found = Vec::new();
    for api_group in discovery.groups() {
        if group.is_some_and(|g| g != api_group.name()) {
            continue;
        }
        for (resource, capabilities) in api_group.recommended_resources() {
            let kind = resource.kind.to_ascii_lowercase();
            if resource.plural == name || kind == name {
                found.push(Target {
                    group: resource.group.clone(),
                    resource: resource.plural.clone(),
                    subresource: subresource.to_owned(),
                    namespaced: capabilities.scope == Scope::Namespaced,
                });
            }
        }
    }
    // The core group first, as kubectl prefers it.
    found.sort_by_key(|t| !t.group.is_empty());
    match found.into_iter().next() {
        Some(target) => Ok(target),
        None => bail!(
            "--check: the API serves no resource {text:?}; write it as kubectl auth can-i does (pods, pods/log, deployments.apps); kubectl api-resources lists them"
        ),
    }
}

pub async fn review(cluster: &Cluster, account: &ServiceAccountRef, access: &Access) -> Result<bool> {
    let reviews: Api<SubjectAccessReview> = Api::all(cluster.client.clone());
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(account.user_name()),
            groups: Some(account.groups().to_vec()),
            resource_attributes: Some(ResourceAttributes {
                verb: Some(access.verb.clone()),
                group: Some(access.group.clone()),
                resource: Some(access.resource.clone()),
                subresource: Some(access.subresource.clone()).filter(|s| !s.is_empty()),
                namespace: Some(access.namespace.clone()).filter(|s| !s.is_empty()),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let answered = reviews
        .create(&PostParams::default(), &review)
        .await
        .map_err(|e| explain(&e, cluster, "asking for a SubjectAccessReview"))?;
    Ok(answered.status.is_some_and(|s| s.allowed))
}
