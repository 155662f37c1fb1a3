//! `promise init`: asks for what it was not given (on a terminal), checks it,
//! and writes the scaffold `kratix_shared::authoring::scaffold` lays out, never over an
//! existing file without `--force`.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use kratix_shared::authoring::scaffold::{self, ApiInput, PipelineInput, PromiseContent, ScaffoldFile};
use kratix_shared::authoring::{
    crossplane_promise, helm_promise, operator_promise, pulumi_promise, terraform_promise,
};

use super::{helm_chart, manifests, pulumi_schema, terraform_module};

use crate::cli::InitArgs;

/// Exit code of a usage error (a missing or malformed value), as clap's.
const EXIT_USAGE: u8 = 2;

/// The values still missing, asked for one by one with a default each.
fn prompt(args: &InitArgs) -> Result<(String, String, String, Option<String>)> {
    use dialoguer::Input;
    let name = match &args.name {
        Some(name) => name.clone(),
        None => Input::<String>::new()
            .with_prompt("Promise name")
            .default("my-promise".to_owned())
            .interact_text()?,
    };
    let group = match &args.group {
        Some(group) => group.clone(),
        None => Input::<String>::new()
            .with_prompt("API group of its requests")
            .default("example.org".to_owned())
            .interact_text()?,
    };
    let kind = match &args.kind {
        Some(kind) => kind.clone(),
        None => Input::<String>::new()
            .with_prompt("Kind of its requests")
            .default(camel_case(&name))
            .interact_text()?,
    };
    let plural = match &args.plural {
        Some(plural) => Some(plural.clone()),
        None if args.kind.is_none() => Some(
            Input::<String>::new()
                .with_prompt("Plural")
                .default(scaffold::default_plural(&kind))
                .interact_text()?,
        ),
        None => None,
    };
    Ok((name, group, kind, plural))
}

/// `my-promise` → `MyPromise`.
fn camel_case(name: &str) -> String {
    name.split(['-', '_', '.'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

pub fn run(args: &InitArgs) -> Result<ExitCode> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let (name, group, kind, plural) = if interactive {
        prompt(args)?
    } else {
        match given(args) {
            Some(values) => values,
            None => return Ok(ExitCode::from(EXIT_USAGE)),
        }
    };
    let api = ApiInput {
        plural: plural.unwrap_or_else(|| scaffold::default_plural(&kind)),
        name,
        group,
        kind,
        version: args.version.clone(),
    };
    let mut problems = scaffold::check_api(&api);
    let pipeline = args.pipeline.as_ref().map(|path| {
        let image = args.image.clone().unwrap_or_default();
        PipelineInput {
            workflow: path.workflow,
            pipeline: path.name.clone(),
            container: scaffold::default_container_name(&image),
            image,
            language: args.language.into(),
        }
    });
    if let Some(pipeline) = &pipeline {
        problems.extend(scaffold::check_pipeline(pipeline));
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(&api.name));
    if args.split {
        problems.extend(split_dir_problem(&dir, &api.name));
    }
    if args.image.is_some()
        && args.pipeline.is_none()
        && args.helm_chart.is_none()
        && args.terraform_module.is_none()
        && args.pulumi_schema.is_none()
    {
        problems.push((
            "--image",
            "names the first pipeline's image: give --pipeline too (or --helm-chart with a chart on disk, --terraform-module with provider files, --pulumi-schema with a file)"
                .to_owned(),
        ));
    }
    if !problems.is_empty() {
        for (flag, message) in &problems {
            eprintln!("error: {flag}: {message}");
        }
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    // Quoted in the README; --force is left out so a forced run writes the same bytes.
    let command = std::env::args()
        .skip(1)
        .filter(|arg| arg != "--force")
        .fold(String::from("kubectl kratix"), |line, arg| {
            line + " " + &shell_word(&arg)
        });
    let (files, chart_on_disk) = promise_files(args, &api, pipeline.as_ref(), &command)?;
    if let Some(chart) = &chart_on_disk {
        helm_chart::refuse_inside(chart, &dir)?;
    }
    let chart_copy = dir.join(helm_promise::local_image_dir()).join("chart");
    if chart_on_disk.is_some() && chart_copy.exists() && !args.force {
        bail!(
            "{} already exists; nothing was written (pass --force to overwrite)",
            chart_copy.display()
        );
    }
    write_files(&dir, &files, args.force)?;
    for file in &files {
        println!("created {}", dir.join(&file.path).display());
    }
    if let Some(chart) = chart_on_disk {
        helm_chart::copy_chart(&chart, &chart_copy)?;
        println!("created {} (the chart, copied)", chart_copy.display());
    }
    let generated = args.helm_chart.is_some()
        || args.operator_manifests.is_some()
        || args.crossplane_xrd.is_some()
        || args.terraform_module.is_some()
        || args.pulumi_schema.is_some();
    let next = match (generated, args.image.is_some()) {
        (true, true) => {
            "kubectl kratix promise build-images {0} --push (the image your files are baked into)"
        }
        (true, false) => "kubectl kratix promise render {0} --workflow resource/configure",
        (false, _) => {
            "kubectl kratix promise add-container resource/configure/instance --image IMAGE --dir {0}"
        }
    };
    eprintln!(
        "Next: kubectl kratix promise validate {0}; {1}",
        dir.display(),
        next.replace("{0}", &dir.display().to_string())
    );
    Ok(ExitCode::SUCCESS)
}

/// The new Promise's files, from the source flag given (none: the empty
/// Promise, with the first pipeline's scaffold), and the chart to copy beside
/// them when it is on disk.
fn promise_files(
    args: &InitArgs,
    api: &ApiInput,
    pipeline: Option<&PipelineInput>,
    command: &str,
) -> Result<(Vec<ScaffoldFile>, Option<PathBuf>)> {
    let (content, chart_on_disk) = if let Some(source) = &args.helm_chart {
        from_helm_chart(args, source)?
    } else if let Some(path) = &args.operator_manifests {
        let crd = args.api_schema_from.as_deref().unwrap_or_default();
        let read = manifests::read_manifests(path)?;
        let from = path.display().to_string();
        (operator_promise::operator_promise(&read, crd, &from)?, None)
    } else if let Some(xrd) = &args.crossplane_xrd {
        (from_crossplane_xrd(args, xrd)?, None)
    } else if let Some(module) = &args.terraform_module {
        (from_terraform_module(args, module)?, None)
    } else if let Some(schema) = &args.pulumi_schema {
        (from_pulumi_schema(args, schema)?, None)
    } else {
        return Ok((scaffold::promise_files(api, args.split, pipeline, command)?, None));
    };
    Ok((
        scaffold::generated_files(api, args.split, &content, command)?,
        chart_on_disk,
    ))
}

/// The Promise a Crossplane XRD gives, with its Functions and Compositions.
fn from_crossplane_xrd(args: &InitArgs, xrd: &Path) -> Result<PromiseContent> {
    let documents = manifests::read_manifests(xrd)?;
    let mut xrds = documents.iter().filter(|m| {
        m.value.get("kind").and_then(serde_json::Value::as_str) == Some("CompositeResourceDefinition")
    });
    let (Some(found), None) = (xrds.next(), xrds.next()) else {
        bail!(
            "--crossplane-xrd {}: must hold exactly one CompositeResourceDefinition",
            xrd.display()
        );
    };
    let mut extras = Vec::new();
    for path in [&args.functions, &args.compositions].into_iter().flatten() {
        extras.extend(manifests::read_manifests(path)?);
    }
    let made = crossplane_promise::crossplane_promise(found, &extras, args.skip_dependencies)?;
    for warning in &made.warnings {
        eprintln!("warning: {warning}");
    }
    Ok(made.content)
}

/// The Promise a Terraform module gives.
fn from_terraform_module(args: &InitArgs, source: &str) -> Result<PromiseContent> {
    let read = terraform_module::read(&terraform_module::ModuleRequest {
        source,
        version: args.module_version.as_deref(),
        providers: args.module_providers.as_deref(),
        image: args.image.as_deref(),
        generate_outputs: args.generate_outputs,
    })?;
    for warning in &read.warnings {
        eprintln!("warning: {source}: {warning}");
    }
    let made = terraform_promise::terraform_promise(&read.input)?;
    for dropped in &made.dropped {
        eprintln!("warning: {source}: the API cannot check {dropped}");
    }
    if Path::new(source).is_dir() {
        eprintln!(
            "warning: MODULE_SOURCE is the local path {source}: whatever applies the Destination's files must find the module there; a git:: or registry source works anywhere"
        );
    }
    Ok(made.content)
}

/// The Promise a Pulumi component gives.
fn from_pulumi_schema(args: &InitArgs, source: &str) -> Result<PromiseContent> {
    let secret = |flag: &str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| pulumi_promise::SecretKey::parse(flag, v))
            .transpose()
    };
    let schema_token = secret("--schema-bearer-token-secret", &args.schema_bearer_token_secret)?;
    let stack_token = secret("--stack-access-token-secret", &args.stack_access_token_secret)?;
    let schema = pulumi_schema::read(source, args.image.as_deref(), schema_token.is_some())?;
    for warning in &schema.warnings {
        eprintln!("warning: {warning}");
    }
    let made = pulumi_promise::pulumi_promise(&pulumi_promise::PulumiInput {
        schema: &schema.value,
        schema_text: &schema.text,
        from: source,
        location: schema.location.clone(),
        component: args.component.as_deref(),
        schema_token,
        stack_token,
    })?;
    for dropped in &made.dropped {
        eprintln!("warning: {source}: the API cannot check {dropped}");
    }
    eprintln!("component: {}", made.component);
    Ok(made.content)
}

/// The Promise a Helm chart gives, and the chart's path when it is on disk
/// (copied beside the scaffold that bakes it into the pipeline's image).
fn from_helm_chart(args: &InitArgs, source: &str) -> Result<(PromiseContent, Option<PathBuf>)> {
    let (name, version) = (args.chart_name.as_deref(), args.chart_version.as_deref());
    let chart = helm_chart::read(source, name, version)?;
    let location = helm_chart::location(&chart, source, name, version, args.image.as_deref())?;
    let generated = helm_promise::helm_promise(&chart.files, &location)?;
    for dropped in &generated.dropped {
        eprintln!("warning: {}: the API cannot check {dropped}", chart.files.source);
    }
    Ok((generated.content, chart.on_disk))
}

/// The values from the flags when there is no terminal to ask on; none
/// (the missing ones reported) when a required one is not given.
fn given(args: &InitArgs) -> Option<(String, String, String, Option<String>)> {
    let missing: Vec<&str> = [
        ("NAME", args.name.is_none()),
        ("--group", args.group.is_none()),
        ("--kind", args.kind.is_none()),
    ]
    .into_iter()
    .filter_map(|(flag, missing)| missing.then_some(flag))
    .collect();
    if !missing.is_empty() {
        eprintln!(
            "error: missing {}: there is no terminal to ask on, so pass them, as in\n  kubectl kratix promise init redis --group example.org --kind Redis",
            missing.join(", ")
        );
        return None;
    }
    Some((
        args.name.clone().unwrap_or_default(),
        args.group.clone().unwrap_or_default(),
        args.kind.clone().unwrap_or_default(),
        args.plural.clone(),
    ))
}

/// In the split layout the Promise is named after its directory: a
/// problem with `--dir` when the two differ.
fn split_dir_problem(dir: &Path, name: &str) -> Option<(&'static str, String)> {
    let named = std::path::absolute(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()));
    (named.as_deref() != Some(name)).then(|| {
        (
            "--dir",
            format!(
                "{} is not named {}: in the split layout the Promise is named after its directory",
                dir.display(),
                name
            ),
        )
    })
}

/// `word` as a POSIX shell reads it back: as it is when it holds nothing a
/// shell treats specially, else in single quotes.
fn shell_word(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\"'\"'"))
    }
}

/// Writes every file, or none when one exists and `force` is off.
pub fn write_files(dir: &Path, files: &[ScaffoldFile], force: bool) -> Result<()> {
    if !force {
        let existing: Vec<String> = files
            .iter()
            .map(|f| dir.join(&f.path))
            .filter(|p| p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !existing.is_empty() {
            bail!(
                "{} already exist{}; nothing was written (pass --force to overwrite)",
                existing.join(", "),
                if existing.len() == 1 { "s" } else { "" }
            );
        }
    }
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, &file.content).with_context(|| format!("writing {}", path.display()))?;
        #[cfg(unix)]
        if file.executable {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("making {} executable", path.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_are_quoted_only_when_a_shell_would_read_them_otherwise() {
        assert_eq!(super::shell_word("--module-version"), "--module-version");
        assert_eq!(super::shell_word("~> 3.7"), "'~> 3.7'");
        assert_eq!(super::shell_word("it's"), "'it'\"'\"'s'");
        assert_eq!(super::shell_word(""), "''");
    }

    #[test]
    fn names_become_kinds() {
        assert_eq!(super::camel_case("my-redis_db"), "MyRedisDb");
        assert_eq!(super::camel_case("redis"), "Redis");
    }
}
