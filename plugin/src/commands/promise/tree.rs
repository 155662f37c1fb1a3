//! `kubectl kratix promise tree PROMISE`: the Promise's requests and, under
//! each, the requests its pipelines made for other Promises, found by
//! kratix-cli's component labels (`display::request_tree` builds the tree).

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};

use crate::cli::{TreeArgs, TreeFormat};
use crate::cluster::kratix_objects::{self as objects, Namespaces};
use crate::display::request_tree::{self, COMPONENT_OF_PROMISE, RequestNode};

pub async fn run(args: &TreeArgs) -> Result<ExitCode> {
    let cluster = args.cluster.connect().await?;
    let promise = objects::promise(&cluster, &args.promise).await?;
    let Some(api) = &promise.api else {
        bail!(
            "Promise {} offers no API (spec.api): it has no requests to show",
            promise.name
        );
    };
    let namespaces = match &args.cluster.namespace {
        Some(namespace) => Namespaces::One(namespace.clone()),
        None => Namespaces::All,
    };
    let roots: Vec<RequestNode> = objects::requests(&cluster, &promise, &namespaces, None)
        .await?
        .into_iter()
        .map(|r| RequestNode::new(&promise.name, &api.kind, &r.object, r.labels))
        .collect();
    if roots.is_empty() && args.output == TreeFormat::Tree {
        let place = match &namespaces {
            Namespaces::One(namespace) => format!(" in namespace {namespace}"),
            Namespaces::All => String::new(),
        };
        eprintln!("No {} requests of Promise {}{place}.", api.kind, promise.name);
        return Ok(ExitCode::SUCCESS);
    }
    // Components may be requests of any Promise, in any namespace: those
    // labelled as made for a request.
    let mut candidates = Vec::new();
    let mut unreadable = Vec::new();
    for other in objects::promises(&cluster, None).await? {
        let Some(other_api) = &other.api else { continue };
        // Someone allowed one namespace only sees the components there.
        let mut labelled =
            objects::requests(&cluster, &other, &Namespaces::All, Some(COMPONENT_OF_PROMISE)).await;
        if labelled.is_err()
            && let Namespaces::One(_) = &namespaces
        {
            labelled = objects::requests(&cluster, &other, &namespaces, Some(COMPONENT_OF_PROMISE)).await;
        }
        let labelled = match labelled {
            Ok(labelled) => labelled,
            Err(error) => {
                tracing::debug!(promise = %other.name, "{error:#}");
                unreadable.push(other.name.clone());
                continue;
            }
        };
        candidates.extend(
            labelled
                .into_iter()
                .map(|r| RequestNode::new(&other.name, &other_api.kind, &r.object, r.labels)),
        );
    }
    let trees = request_tree::build(roots, &candidates);
    let text = match args.output {
        TreeFormat::Tree => request_tree::render(&trees),
        TreeFormat::Json => {
            let mut text = serde_json::to_string_pretty(&trees).context("encoding JSON")?;
            text.push('\n');
            text
        }
        TreeFormat::Yaml => serde_saphyr::to_string(&trees).context("encoding YAML")?,
    };
    print!("{text}");
    if !unreadable.is_empty() {
        eprintln!(
            "warning: the requests of {} could not be read (no permission?): components among them are not shown",
            unreadable.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}
