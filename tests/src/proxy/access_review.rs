//! SubjectAccessReview and SelfSubjectAccessReview, answered from the same
//! RBAC evaluation as every request.

use serde_json::{Value, json};

use super::rbac::{RbacObjects, allowed};
use super::request_info::{Attributes, ResourceAttributes};
use crate::identity::Identity;

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// The attributes a review's spec asks about.
fn attributes(spec: &Value) -> Result<Attributes, String> {
    if let Some(resource) = spec.get("resourceAttributes") {
        return Ok(Attributes {
            verb: text(resource, "verb"),
            path: String::new(),
            resource: Some(ResourceAttributes {
                group: text(resource, "group"),
                version: text(resource, "version"),
                resource: text(resource, "resource"),
                subresource: text(resource, "subresource"),
                namespace: text(resource, "namespace"),
                name: text(resource, "name"),
            }),
        });
    }
    if let Some(non_resource) = spec.get("nonResourceAttributes") {
        return Ok(Attributes {
            verb: text(non_resource, "verb"),
            path: text(non_resource, "path"),
            resource: None,
        });
    }
    Err("spec.resourceAttributes or spec.nonResourceAttributes is required".to_owned())
}

/// Answers a review posted to `path` by `requester`.
pub fn review(objects: &RbacObjects, requester: &Identity, path: &str, body: &[u8]) -> Result<Value, String> {
    let mut review: Value = match serde_json::from_slice(body) {
        Ok(review) => review,
        Err(error) => super::protobuf::access_review(body)
            .ok_or_else(|| format!("the review is neither JSON nor protobuf: {error}"))?,
    };
    let spec = review.get("spec").cloned().unwrap_or_default();
    let subject = if path.ends_with("/selfsubjectaccessreviews") {
        requester.clone()
    } else {
        let user = text(&spec, "user");
        let groups: Vec<String> = spec
            .get("groups")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|g| g.as_str().map(str::to_owned))
            .collect();
        if user.is_empty() && groups.is_empty() {
            return Err("spec.user or spec.groups is required".to_owned());
        }
        if user.is_empty() {
            Identity::User {
                name: String::new(),
                groups,
            }
        } else {
            Identity::from_user(&user, groups)
        }
    };
    let is_allowed = allowed(objects, &subject, &attributes(&spec)?);
    review["status"] = if is_allowed {
        json!({"allowed": true, "reason": "allowed by the RBAC objects in the API"})
    } else {
        json!({"allowed": false})
    };
    Ok(review)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subject_access_review_evaluates_the_named_user() {
        let objects = RbacObjects::default();
        let body = br#"{"apiVersion":"authorization.k8s.io/v1","kind":"SubjectAccessReview","spec":{"user":"system:serviceaccount:a:b","resourceAttributes":{"verb":"get","resource":"pods","namespace":"a"}}}"#;
        let answer = review(
            &objects,
            &Identity::Admin,
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            body,
        )
        .expect("answer");
        assert_eq!(answer["status"]["allowed"], false);
        assert_eq!(answer["kind"], "SubjectAccessReview");
    }

    #[test]
    fn a_self_review_evaluates_the_requester() {
        let body = br#"{"spec":{"nonResourceAttributes":{"verb":"get","path":"/api"}}}"#;
        let sa = Identity::ServiceAccount {
            namespace: "a".into(),
            name: "b".into(),
        };
        let answer = review(
            &RbacObjects::default(),
            &sa,
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body,
        )
        .expect("answer");
        assert_eq!(answer["status"]["allowed"], true);
    }

    #[test]
    fn a_review_needs_attributes_and_a_subject() {
        let empty = br#"{"spec":{"user":"u"}}"#;
        assert!(
            review(
                &RbacObjects::default(),
                &Identity::Admin,
                "/subjectaccessreviews",
                empty
            )
            .is_err()
        );
        let nobody = br#"{"spec":{"resourceAttributes":{"verb":"get"}}}"#;
        assert!(
            review(
                &RbacObjects::default(),
                &Identity::Admin,
                "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                nobody
            )
            .is_err()
        );
    }
}
