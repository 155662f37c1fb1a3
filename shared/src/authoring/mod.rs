//! Writing Promises: finding them on disk (`source`), what `promise init` and
//! `promise add-container` scaffold (`scaffold`, and a container's files in
//! its language in `container_scaffold`), and what `promise update api`
//! changes (`api_update`); `schema_translation` turns other tools' schemas
//! (JSON Schema, example values) into a CRD's; `helm_promise` makes a
//! Promise from a Helm chart, `operator_promise` one from an operator's
//! manifests, `crossplane_promise` one from a Crossplane XRD,
//! `terraform_promise` one from a Terraform module, `pulumi_promise` one
//! from a Pulumi component's schema.

pub mod api_update;
pub mod container_scaffold;
pub mod crossplane_promise;
pub mod helm_promise;
pub mod operator_promise;
pub mod pulumi_promise;
pub mod scaffold;
pub mod schema_translation;
pub mod source;
pub mod terraform_promise;
