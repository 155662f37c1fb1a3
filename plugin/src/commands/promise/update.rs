//! `promise update api` and `promise update destination-selector`: a Promise
//! on disk changed as kratix-cli's `update` commands change it, in
//! `promise.yaml` or the split layout's `api.yaml` and
//! `destination-selectors.yaml`, validated afterwards and
//! put back when the change would leave it invalid.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use kratix_shared::authoring::api_update::{self, ApiRename, PropertyChange};
use kratix_shared::authoring::source::{API_FILE, DESTINATION_SELECTORS_FILE, PROMISE_FILE};
use serde_json::{Value, json};

use super::edit;
use crate::cli::{UpdateApiArgs, UpdateSelectorArgs};

const EXIT_USAGE: u8 = 2;
const EXAMPLE_FILE: &str = "example-resource.yaml";

/// Where the Promise in `dir` keeps its API: `promise.yaml` (at `spec.api`) or
/// the split layout's `api.yaml` (the whole file).
fn api_file(dir: &Path) -> Result<(PathBuf, bool)> {
    let promise = dir.join(PROMISE_FILE);
    if promise.is_file() {
        return Ok((promise, false));
    }
    let api = dir.join(API_FILE);
    if api.is_file() {
        return Ok((api, true));
    }
    bail!(
        "{} holds no Promise: expected {PROMISE_FILE}, or {API_FILE} for the split layout (pass --dir)",
        dir.display()
    )
}

/// Prints the errors of a change that was put back.
pub fn api(args: &UpdateApiArgs) -> Result<ExitCode> {
    let mut changes: Vec<PropertyChange> = Vec::new();
    for flag in &args.properties {
        match api_update::parse_property(flag) {
            Ok(change) => changes.push(change),
            Err(error) => {
                eprintln!("error: {error}");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        }
    }
    let rename = ApiRename {
        group: args.group.clone(),
        kind: args.kind.clone(),
        version: args.version.clone(),
        plural: args.plural.clone(),
    };
    if changes.is_empty() && rename == ApiRename::default() {
        eprintln!(
            "error: nothing to change: give -p NAME:TYPE, -p NAME-, --group, --kind, --version or --plural"
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let (file, split) = api_file(&args.dir)?;
    let mut document = edit::read_yaml(&file)?;
    let crd = if split {
        &mut document
    } else {
        document
            .pointer_mut("/spec/api")
            .filter(|a| a.is_object())
            .ok_or_else(|| anyhow!("{}: spec.api: the Promise has no API to update", file.display()))?
    };
    let notes = api_update::apply(crd, &changes, &rename)?;
    let renamed_crd = crd.clone();
    let errors = edit::write_checked(&args.dir, &file, &document)?;
    if !errors.is_empty() {
        return Ok(edit::refused(&errors, &file));
    }
    for note in notes {
        eprintln!("warning: {note}");
    }
    println!("updated the API in {}", file.display());
    let example = args.dir.join(EXAMPLE_FILE);
    if rename != ApiRename::default() && example.is_file() {
        let mut request = edit::read_yaml(&example)?;
        api_update::rename_example(&mut request, &renamed_crd);
        std::fs::write(&example, serde_saphyr::to_string(&request)?)?;
        println!(
            "updated {} to the API's new apiVersion and kind",
            example.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn destination_selector(args: &UpdateSelectorArgs) -> Result<ExitCode> {
    let change = match args.selector.split_once('=') {
        Some((key, value)) if !key.is_empty() => Some((key.to_owned(), value.to_owned())),
        None if args.selector.len() > 1 && args.selector.ends_with('-') => None,
        _ => {
            eprintln!(
                "error: {:?}: expected KEY=VALUE, or KEY- to remove it",
                args.selector
            );
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let promise_file = args.dir.join(PROMISE_FILE);
    let (file, mut document, field) = if promise_file.is_file() {
        let promise = edit::read_yaml(&promise_file)?;
        (promise_file, promise, "spec.destinationSelectors")
    } else if args.dir.join(API_FILE).is_file() {
        // The split layout keeps them in their own file, the list alone.
        let file = args.dir.join(DESTINATION_SELECTORS_FILE);
        let list = if file.is_file() {
            edit::read_yaml(&file)?
        } else {
            json!([])
        };
        if !list.is_array() {
            bail!(
                "{}: is not a list of selectors ({{matchLabels: ...}} entries, as under a Promise's spec.destinationSelectors); fix it first, nothing was changed",
                file.display()
            );
        }
        (file, list, "")
    } else {
        bail!("{}: no {PROMISE_FILE} here (pass --dir)", args.dir.display());
    };
    let selectors = if field.is_empty() {
        &mut document
    } else {
        let spec = document
            .as_object_mut()
            .ok_or_else(|| anyhow!("{}: is not a Promise", file.display()))?
            .entry("spec")
            .or_insert_with(|| json!({}));
        spec.as_object_mut()
            .ok_or_else(|| anyhow!("{}: spec is not a map", file.display()))?
            .entry("destinationSelectors")
            .or_insert_with(|| json!([]))
    };
    if !selectors.is_array() || selectors.as_array().is_some_and(Vec::is_empty) {
        *selectors = json!([{"matchLabels": {}}]);
    }
    let at = if field.is_empty() {
        "[0]".to_owned()
    } else {
        format!("{field}[0]")
    };
    let labels = selectors[0]
        .as_object_mut()
        .ok_or_else(|| anyhow!("{}: {at} is not a map", file.display()))?
        .entry("matchLabels")
        .or_insert_with(|| json!({}));
    let Value::Object(labels) = labels else {
        bail!("{}: {at}.matchLabels is not a map", file.display());
    };
    let said = match change {
        Some((key, value)) => {
            labels.insert(key.clone(), Value::String(value.clone()));
            format!("set {key}={value}")
        }
        None => {
            let key = args.selector.trim_end_matches('-');
            if labels.remove(key).is_none() {
                eprintln!("warning: {key} was not a destination selector; nothing to remove");
            }
            format!("removed {key}")
        }
    };
    let errors = edit::write_checked(&args.dir, &file, &document)?;
    if !errors.is_empty() {
        return Ok(edit::refused(&errors, &file));
    }
    println!("{said} in {at}.matchLabels of {}", file.display());
    Ok(ExitCode::SUCCESS)
}
