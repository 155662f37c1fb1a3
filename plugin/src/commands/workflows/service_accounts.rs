//! `workflows service-accounts PROMISE [RESOURCE]` (alias `sa`): per pipeline
//! the ServiceAccount it runs as, who owns it, and its grants (rbac-lookup
//! style). `--check VERB RESOURCE` answers for each account from the RBAC
//! objects (as kubectl-who-can) and confirms with a SubjectAccessReview.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use comfy_table::Cell;
use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kratix_shared::api::labels;
use kratix_shared::api::{Workflow, WorkflowAction, WorkflowType};
use kratix_shared::render::names;
use kratix_shared::report::rbac_grants::{self, Access, Grant, RbacObjects, ServiceAccountRef};
use kube::api::{Api, ListParams};
use serde::Serialize;
use serde_json::json;

use crate::cli::{ReportFormat, ServiceAccountsArgs};
use crate::cluster::access_review;
use crate::cluster::kratix_objects::{self as objects, LivePromise, Namespaces};
use crate::cluster::workflow_subject::WorkflowSubject;
use crate::cluster::{Cluster, explain};
use crate::display::table;
use crate::preferences;

/// One pipeline's identity.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct PipelineAccount {
    /// `resource/configure/instance`.
    pipeline: String,
    service_account: ServiceAccountRef,
    /// `kratix` (the agent made it), `user` (spec.rbac.serviceAccount, made by
    /// someone else) or `missing` (not created yet).
    owner: &'static str,
    grants: Vec<Grant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check: Option<CheckAnswer>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckAnswer {
    verb: String,
    resource: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    namespace: String,
    /// From the RBAC objects.
    allowed: bool,
    /// The grants that allow it (`ClusterRole/x via RoleBinding/ns/y`).
    allowed_by: Vec<String>,
    /// The API server's SubjectAccessReview; none when it could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_access_review: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    review_error: Option<String>,
}

/// Verbs of the API server and of RBAC's special cases, as `kubectl auth can-i` knows them.
const KNOWN_VERBS: [&str; 15] = [
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "proxy",
    "use",
    "bind",
    "escalate",
    "impersonate",
    "approve",
    "*",
];

const WORKFLOWS: [(WorkflowType, WorkflowAction); 4] = [
    (WorkflowType::Promise, WorkflowAction::Configure),
    (WorkflowType::Promise, WorkflowAction::Delete),
    (WorkflowType::Resource, WorkflowAction::Configure),
    (WorkflowType::Resource, WorkflowAction::Delete),
];

/// Each pipeline with the namespaces it runs in.
async fn accounts(
    cluster: &Cluster,
    promise: &LivePromise,
    resource: Option<&str>,
) -> Result<Vec<(String, ServiceAccountRef)>> {
    let requests = match resource {
        Some(reference) => vec![objects::request_anywhere(cluster, promise, reference).await?],
        None => objects::requests(cluster, promise, &Namespaces::All, None).await?,
    };
    let requests: Vec<WorkflowSubject<'_>> = requests
        .into_iter()
        .map(|request| WorkflowSubject::of_request(promise, request))
        .collect();
    let mut out = Vec::new();
    for (workflow_type, action) in WORKFLOWS {
        if resource.is_some() && workflow_type == WorkflowType::Promise {
            continue;
        }
        let workflow = Workflow {
            workflow_type,
            action,
        };
        let namespaces: BTreeSet<String> = match workflow_type {
            WorkflowType::Promise => [WorkflowSubject::of_promise(promise).jobs_namespace()].into(),
            WorkflowType::Resource => requests.iter().map(WorkflowSubject::jobs_namespace).collect(),
        };
        for pipeline in objects::pipelines(promise, workflow) {
            let name = names::service_account(&promise.name, workflow, &pipeline);
            for namespace in &namespaces {
                out.push((
                    format!("{workflow}/{}", pipeline.name()),
                    ServiceAccountRef {
                        namespace: namespace.clone(),
                        name: name.clone(),
                    },
                ));
            }
        }
    }
    Ok(out)
}

async fn rbac_objects(cluster: &Cluster) -> Result<RbacObjects> {
    let params = ListParams::default();
    let client = &cluster.client;
    let (roles, cluster_roles, role_bindings, cluster_role_bindings) = (
        Api::<Role>::all(client.clone()),
        Api::<ClusterRole>::all(client.clone()),
        Api::<RoleBinding>::all(client.clone()),
        Api::<ClusterRoleBinding>::all(client.clone()),
    );
    let (roles, cluster_roles, role_bindings, cluster_role_bindings) = futures::try_join!(
        roles.list(&params),
        cluster_roles.list(&params),
        role_bindings.list(&params),
        cluster_role_bindings.list(&params),
    )
    .map_err(|e| {
        explain(
            &e,
            cluster,
            "listing Roles, ClusterRoles and their bindings (this view reads them cluster-wide)",
        )
    })?;
    Ok(RbacObjects {
        roles: roles.items,
        cluster_roles: cluster_roles.items,
        role_bindings: role_bindings.items,
        cluster_role_bindings: cluster_role_bindings.items,
    })
}

async fn owner(cluster: &Cluster, promise: &str, account: &ServiceAccountRef) -> Result<&'static str> {
    let accounts: Api<ServiceAccount> = Api::namespaced(cluster.client.clone(), &account.namespace);
    let found = accounts.get_opt(&account.name).await.map_err(|e| {
        explain(
            &e,
            cluster,
            &format!("reading ServiceAccount {}/{}", account.namespace, account.name),
        )
    })?;
    Ok(match found {
        None => "missing",
        Some(sa)
            if sa
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(labels::PROMISE_NAME))
                .map(String::as_str)
                == Some(promise) =>
        {
            "kratix"
        }
        Some(_) => "user",
    })
}

pub async fn run(args: &ServiceAccountsArgs) -> Result<ExitCode> {
    let preferences = preferences::load()?;
    let format = args.output.or(preferences.output).unwrap_or(ReportFormat::Table);
    let colour = preferences::stdout_colour(args.color, &preferences);
    let cluster = args.cluster.connect().await?;
    let promise = objects::promise(&cluster, &args.promise).await?;
    let pipelines = accounts(&cluster, &promise, args.resource.as_deref()).await?;
    if pipelines.is_empty() {
        let why = why_no_accounts(&promise, args.resource.is_some());
        eprintln!("Promise {} {why}: no service accounts to show", promise.name);
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(check) = &args.check
        && !KNOWN_VERBS.contains(&check[0].as_str())
    {
        eprintln!(
            "warning: {:?} is not a verb the API server knows (get, list, watch, create, update, patch, delete, deletecollection, ...); the answer is for that exact verb",
            check[0]
        );
    }
    let report = gather(&cluster, args, &promise, pipelines).await?;
    print_report(&report, format, args.check.is_some(), colour)?;
    Ok(check_verdict(&report))
}

/// Why a Promise has no accounts to show: no pipelines at all, or resource
/// pipelines without a request to run them for.
fn why_no_accounts(promise: &LivePromise, one_request: bool) -> &'static str {
    let has_resource_pipelines = [WorkflowAction::Configure, WorkflowAction::Delete]
        .into_iter()
        .any(|action| {
            !objects::pipeline_names(
                promise,
                Workflow {
                    workflow_type: WorkflowType::Resource,
                    action,
                },
            )
            .is_empty()
        });
    match (one_request, has_resource_pipelines) {
        (_, false) => "has no pipelines",
        (false, true) => {
            "has resource pipelines but no requests yet (their accounts live in the requests' namespaces) and no promise pipelines"
        }
        (true, true) => "has no resource pipelines for this request",
    }
}

/// Each pipeline's account with its owner, its grants and, with --check,
/// the answer for it.
async fn gather(
    cluster: &Cluster,
    args: &ServiceAccountsArgs,
    promise: &LivePromise,
    pipelines: Vec<(String, ServiceAccountRef)>,
) -> Result<Vec<PipelineAccount>> {
    let rbac = rbac_objects(cluster).await?;
    let target = match &args.check {
        Some(check) => Some(access_review::resolve(cluster, &check[1]).await?),
        None => None,
    };
    let mut report = Vec::new();
    for (pipeline, account) in pipelines {
        let grants = rbac_grants::grants_of(&rbac, &account);
        let check = match (&args.check, &target) {
            (Some(check), Some(target)) => {
                Some(check_answer(cluster, args, check, target, &account, &grants).await)
            }
            _ => None,
        };
        report.push(PipelineAccount {
            owner: owner(cluster, &promise.name, &account).await?,
            pipeline,
            service_account: account,
            grants,
            check,
        });
    }
    Ok(report)
}

/// The --check answer for one account: from its grants, and from the API
/// server's SubjectAccessReview where it can be asked.
async fn check_answer(
    cluster: &Cluster,
    args: &ServiceAccountsArgs,
    check: &[String],
    target: &access_review::Target,
    account: &ServiceAccountRef,
    grants: &[Grant],
) -> CheckAnswer {
    let namespace = if target.namespaced {
        args.cluster
            .namespace
            .clone()
            .unwrap_or_else(|| account.namespace.clone())
    } else {
        String::new()
    };
    let access = Access {
        verb: check[0].clone(),
        group: target.group.clone(),
        resource: target.resource.clone(),
        subresource: target.subresource.clone(),
        name: String::new(),
        namespace: namespace.clone(),
    };
    let allowed_by: Vec<String> = rbac_grants::allowing(grants, &access)
        .iter()
        .map(|(grant, _)| format!("{} via {}", grant.role, grant.source))
        .collect();
    let (subject_access_review, review_error) = match access_review::review(cluster, account, &access).await {
        Ok(allowed) => (Some(allowed), None),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    CheckAnswer {
        verb: check[0].clone(),
        resource: check[1].clone(),
        namespace,
        allowed: !allowed_by.is_empty(),
        allowed_by,
        subject_access_review,
        review_error,
    }
}

/// Prints the report in the chosen format: with --check, the answers
/// table instead of the grants.
fn print_report(report: &[PipelineAccount], format: ReportFormat, checked: bool, colour: bool) -> Result<()> {
    match format {
        ReportFormat::Json => {
            let list = json!({"kind": "PipelineServiceAccountList", "items": report});
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        ReportFormat::Yaml => {
            let list = json!({"kind": "PipelineServiceAccountList", "items": report});
            print!(
                "{}",
                kratix_shared::codec::yaml::to_yaml_stream(&[list]).context("encoding YAML")?
            );
        }
        ReportFormat::Table | ReportFormat::Wide if checked => print!("{}", check_table(report, colour)),
        ReportFormat::Table | ReportFormat::Wide => {
            print!("{}", grants_table(report, format == ReportFormat::Wide, colour));
        }
    }
    Ok(())
}

/// The exit code of --check (1 when an account may not), warning where the
/// answer is unsure.
fn check_verdict(report: &[PipelineAccount]) -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for account in report {
        let Some(check) = &account.check else { continue };
        // The API server's review decides where there is one (another authorizer may allow).
        if !check.subject_access_review.unwrap_or(check.allowed) {
            code = ExitCode::from(1);
        }
        if let Some(reviewed) = check.subject_access_review
            && reviewed != check.allowed
        {
            eprintln!(
                "warning: for {}/{} the RBAC objects say {} but the API server's review says {} (aggregated ClusterRoles or another authorizer decide there)",
                account.service_account.namespace,
                account.service_account.name,
                yes_no(check.allowed),
                yes_no(reviewed)
            );
        }
        if let Some(error) = &check.review_error {
            eprintln!(
                "warning: the answer for {} is not confirmed: {error}",
                account.service_account.name
            );
        }
    }
    code
}

fn yes_no(allowed: bool) -> &'static str {
    if allowed { "yes" } else { "no" }
}

fn account_cell(account: &ServiceAccountRef) -> String {
    format!("{}/{}", account.namespace, account.name)
}

fn grants_table(report: &[PipelineAccount], wide: bool, colour: bool) -> String {
    let mut headers = vec!["PIPELINE", "SERVICE ACCOUNT", "OWNER", "SCOPE", "ROLE"];
    if wide {
        headers.push("SOURCE");
    }
    headers.push("RULES");
    let mut table = if wide {
        table::wide(&headers, colour)
    } else {
        table::new(&headers, colour)
    };
    for account in report {
        if account.grants.is_empty() {
            let mut row = vec![
                account.pipeline.clone(),
                account_cell(&account.service_account),
                account.owner.to_owned(),
                "-".to_owned(),
                "-".to_owned(),
            ];
            if wide {
                row.push("-".to_owned());
            }
            row.push("(no grants)".to_owned());
            table.add_row(row);
        }
        for grant in &account.grants {
            let mut row = vec![
                account.pipeline.clone(),
                account_cell(&account.service_account),
                account.owner.to_owned(),
                grant.scope.to_string(),
                grant.role.clone(),
            ];
            if wide {
                let via = grant
                    .via_group
                    .as_deref()
                    .map(|g| format!(" (group {g})"))
                    .unwrap_or_default();
                row.push(format!("{}{via}", grant.source));
            }
            let rules = if grant.role_exists {
                grant
                    .rules
                    .iter()
                    .map(rbac_grants::describe_rule)
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                "(role not found: grants nothing)".to_owned()
            };
            row.push(rules);
            table.add_row(row);
        }
    }
    table::render(&table)
}

fn check_table(report: &[PipelineAccount], colour: bool) -> String {
    let mut table = table::new(
        &[
            "PIPELINE",
            "SERVICE ACCOUNT",
            "NAMESPACE",
            "ALLOWED",
            "REVIEW",
            "ALLOWED BY",
        ],
        colour,
    );
    for account in report {
        let Some(check) = &account.check else { continue };
        let answer = |allowed: bool| {
            table::phase_cell(if allowed { "yes" } else { "no" }, false).fg_if(colour, allowed)
        };
        table.add_row(vec![
            Cell::new(&account.pipeline),
            Cell::new(account_cell(&account.service_account)),
            Cell::new(if check.namespace.is_empty() {
                "(cluster)"
            } else {
                &check.namespace
            }),
            answer(check.allowed),
            check.subject_access_review.map_or_else(|| Cell::new("-"), answer),
            Cell::new(if check.allowed_by.is_empty() {
                "-".to_owned()
            } else {
                check.allowed_by.join("\n")
            }),
        ]);
    }
    table::render(&table)
}

/// Green for yes, red for no, when colouring.
trait ColourIf {
    fn fg_if(self, colour: bool, good: bool) -> Self;
}

impl ColourIf for Cell {
    fn fg_if(self, colour: bool, good: bool) -> Cell {
        match (colour, good) {
            (false, _) => self,
            (true, true) => self.fg(comfy_table::Color::Green),
            (true, false) => self.fg(comfy_table::Color::Red),
        }
    }
}
