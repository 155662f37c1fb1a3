//! The Terraform module `promise init --terraform-module` starts from: a
//! directory on disk, read offline; a `git::` source cloned with git
//! (`git::URL[//SUBDIR][?ref=REF]`, as Terraform writes it); or a registry
//! source (`NAMESPACE/NAME/PROVIDER[//SUBDIR]`, a host before it optional),
//! fetched by `terraform init` (or OpenTofu's `tofu init`), the one step that
//! needs their CLI. The module's top-level `.tf` files are read (each at most
//! 4 MiB), and its provider settings picked out to deliver beside its calls.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use kratix_shared::authoring::terraform_promise::{ModuleFile, ModuleInput, ProviderFiles};

/// The most one `.tf` file may hold.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// The files that configure a module's providers when none are named, as
/// kratix-cli picks them.
const DEFAULT_PROVIDER_FILES: [&str; 2] = ["versions.tf", "providers.tf"];

/// The module call's name in the folder `terraform init` runs in.
const MODULE_CALL: &str = "kratix_target";

/// What `promise init --terraform-module` was asked for.
pub struct ModuleRequest<'a> {
    pub source: &'a str,
    /// `--module-version`: a registry module's version (constraint).
    pub version: Option<&'a str>,
    /// `--module-providers`: the files with the module's provider settings
    /// (default: those of `DEFAULT_PROVIDER_FILES` it has).
    pub providers: Option<&'a [String]>,
    /// `--image`: the image the provider files are baked into.
    pub image: Option<&'a str>,
    pub generate_outputs: bool,
}

/// The module read, and what the user should know about how.
pub struct ReadModule {
    pub input: ModuleInput,
    pub warnings: Vec<String>,
}

/// `--terraform-module SOURCE` read, with how the pipeline names it.
pub fn read(request: &ModuleRequest<'_>) -> Result<ReadModule> {
    let source = request.source;
    let registry = is_registry_source(source) && !Path::new(source).exists();
    if request.version.is_some() && !registry {
        bail!(
            "--module-version: {source} is not a registry source (NAMESPACE/NAME/PROVIDER); for a git:: source put the version in it (?ref=v1.2.3), a directory has none"
        );
    }
    if request.providers.is_some() && request.image.is_none() {
        bail!(
            "--module-providers: the files are delivered by a promise configure pipeline whose image they are baked into; name that image with --image"
        );
    }
    let mut warnings = Vec::new();
    // The clone or download lives until the files are read.
    let mut workspace = None;
    let folder = if Path::new(source).is_dir() {
        PathBuf::from(source)
    } else if let Some(git) = git_location(source) {
        let clone = tempfile::tempdir().context("making a folder to clone the module into")?;
        let folder =
            clone_module(&git, clone.path()).with_context(|| format!("--terraform-module {source}"))?;
        workspace = Some(clone);
        folder
    } else if registry {
        let download = tempfile::tempdir().context("making a folder to fetch the module into")?;
        let folder = fetch_from_registry(source, request.version, download.path(), &mut warnings)
            .with_context(|| format!("--terraform-module {source}"))?;
        workspace = Some(download);
        folder
    } else if Path::new(source).exists() {
        bail!("--terraform-module {source}: is a file; give the module's directory");
    } else {
        bail!(
            "--terraform-module {source}: no such directory, not a git:: (or github.com/...) source, and not a registry source (NAMESPACE/NAME/PROVIDER); other Terraform sources (archives, s3::, hg::) are not read: download the module and pass its directory"
        );
    };
    let files = tf_files(&folder)?;
    let providers = provider_files(&folder, request, &mut warnings)?;
    drop(workspace);
    Ok(ReadModule {
        input: ModuleInput {
            from: source.to_owned(),
            source: source.to_owned(),
            registry_version: request.version.map(str::to_owned),
            files,
            generate_outputs: request.generate_outputs,
            providers,
        },
        warnings,
    })
}

/// What git fetches for a `git::` source, or for the GitHub and Bitbucket
/// shorthands Terraform reads as git over HTTPS (`github.com/org/repo`).
fn git_location(source: &str) -> Option<String> {
    if let Some(git) = source.strip_prefix("git::") {
        return Some(git.to_owned());
    }
    ["github.com/", "bitbucket.org/"]
        .iter()
        .any(|host| source.starts_with(host))
        .then(|| format!("https://{source}"))
}

/// A registry address, as Terraform tells one from a path or URL: not a
/// path, no scheme, `NAMESPACE/NAME/PROVIDER` with an optional host before
/// it and `//SUBDIR` after it.
pub fn is_registry_source(source: &str) -> bool {
    if source.starts_with(['.', '/'])
        || source.contains("://")
        || source.contains("::")
        || git_location(source).is_some()
    {
        return false;
    }
    let (address, subdir) = match source.split_once("//") {
        Some((address, subdir)) => (address, Some(subdir)),
        None => (source, None),
    };
    let part = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !p.starts_with('.')
    };
    let parts: Vec<&str> = address.split('/').collect();
    (parts.len() == 3 || parts.len() == 4)
        && parts.iter().all(|p| part(p))
        && subdir.is_none_or(|s| s.split('/').all(part))
}

/// A registry version constraint: versions and the operators Terraform
/// reads (`1.2.3`, `~> 5.0`, `>= 1.0, < 2.0`), nothing that could end the
/// string it is written into.
fn is_version_constraint(version: &str) -> bool {
    !version.trim().is_empty()
        && version.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '.' | '-' | '+' | '~' | '>' | '<' | '=' | '!' | ',' | ' ')
        })
}

/// Fetches a registry module with `terraform init` (or `tofu init`) in
/// `into`; the module's folder there.
fn fetch_from_registry(
    source: &str,
    version: Option<&str>,
    into: &Path,
    warnings: &mut Vec<String>,
) -> Result<PathBuf> {
    let mut call = format!("module \"{MODULE_CALL}\" {{\n  source = \"{source}\"\n");
    if let Some(version) = version {
        if !is_version_constraint(version) {
            bail!("--module-version {version:?} is not a version or version constraint (1.2.3, ~> 1.2)");
        }
        call.push_str(&format!("  version = \"{version}\"\n"));
    }
    call.push_str("}\n");
    std::fs::write(into.join("main.tf"), call).context("writing the module call terraform init reads")?;
    let mut failure = None;
    let mut ran = false;
    for tool in ["terraform", "tofu"] {
        let mut command = Command::new(tool);
        command
            .args(["init", "-backend=false", "-input=false", "-no-color"])
            .env("TF_IN_AUTOMATION", "1");
        // The user's settings for their own work may not steer this one (a data
        // dir elsewhere, extra init arguments).
        for setting in ["TF_DATA_DIR", "TF_CLI_ARGS", "TF_CLI_ARGS_init", "TF_WORKSPACE"] {
            command.env_remove(setting);
        }
        let output = command.current_dir(into).output();
        match output {
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(error).with_context(|| format!("running {tool} init")),
            Ok(output) => {
                ran = true;
                if !output.status.success() {
                    failure = Some(format!(
                        "{tool} init failed: {}",
                        last_lines(&String::from_utf8_lossy(&output.stderr), 12)
                    ));
                }
                break;
            }
        }
    }
    if !ran {
        bail!(
            "a registry module is fetched with `terraform init` (or OpenTofu's `tofu init`), and neither is on PATH: install one, or download the module and pass its directory"
        );
    }
    match (downloaded_folder(into), failure) {
        (Ok(folder), None) => Ok(folder),
        (Ok(folder), Some(failure)) => {
            // A module whose own calls need values fails init after it is
            // downloaded; its variables can still be read.
            warnings.push(format!(
                "{failure}\nthe module was downloaded all the same; its files were read from there"
            ));
            Ok(folder)
        }
        (Err(_), Some(failure)) => {
            bail!("{failure}; check the source, the version, and that this machine can reach the registry")
        }
        (Err(error), None) => Err(error),
    }
}

/// The module's folder, as `terraform init` recorded it in
/// `.terraform/modules/modules.json`; kept inside `into`.
fn downloaded_folder(into: &Path) -> Result<PathBuf> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        #[serde(rename = "Modules")]
        modules: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        #[serde(rename = "Key")]
        key: String,
        #[serde(rename = "Dir")]
        dir: String,
    }
    let path = into.join(".terraform/modules/modules.json");
    let mut text = String::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_FILE_BYTES).read_to_string(&mut text))
        .context("terraform init left no module manifest (.terraform/modules/modules.json)")?;
    let manifest: Manifest =
        serde_json::from_str(&text).context("reading the module manifest terraform init wrote")?;
    let entry = manifest
        .modules
        .iter()
        .find(|m| m.key.trim_start_matches("module.") == MODULE_CALL)
        .context("the module manifest terraform init wrote does not list the module")?;
    let folder = into.join(&entry.dir);
    let (root, module) = (
        std::fs::canonicalize(into)?,
        std::fs::canonicalize(&folder).with_context(|| format!("the module's folder {}", entry.dir))?,
    );
    if !module.starts_with(&root) {
        bail!("the module manifest puts the module outside the folder it was fetched into");
    }
    Ok(module)
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.trim().lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// The provider files to deliver: the ones `--module-providers` names (each
/// must be in the module), else those of `versions.tf` and `providers.tf` the
/// module has. Without `--image` there is no image to deliver them with.
fn provider_files(
    folder: &Path,
    request: &ModuleRequest<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<ProviderFiles>> {
    let names: Vec<String> = match request.providers {
        Some(named) => {
            for name in named {
                if name.is_empty() || name.contains('/') || name.starts_with('.') {
                    bail!("--module-providers {name:?}: give a file name in the module's folder");
                }
                if !std::fs::symlink_metadata(folder.join(name)).is_ok_and(|m| m.is_file()) {
                    bail!(
                        "--module-providers {name}: the module {} has no file {name}",
                        request.source
                    );
                }
            }
            named.to_vec()
        }
        None => DEFAULT_PROVIDER_FILES
            .iter()
            .filter(|name| std::fs::symlink_metadata(folder.join(name)).is_ok_and(|m| m.is_file()))
            .map(|name| (*name).to_owned())
            .collect(),
    };
    if names.is_empty() {
        if request.image.is_some() {
            bail!(
                "--image: names the image the module's provider files are baked into, and {} has none ({}); leave --image out",
                request.source,
                DEFAULT_PROVIDER_FILES.join(", ")
            );
        }
        return Ok(None);
    }
    // Named files come with an image (checked before anything was fetched).
    let Some(image) = request.image else {
        warnings.push(format!(
            "the module's {} not delivered to the Destinations: pass --image IMAGE to deliver them through a promise configure pipeline built from a scaffold (kubectl kratix promise build-images)",
            match names.as_slice() {
                [one] => format!("{one} is"),
                many => format!("{} are", many.join(" and ")),
            }
        ));
        return Ok(None);
    };
    let files = names
        .iter()
        .map(|name| {
            Ok(ModuleFile {
                name: name.clone(),
                text: read_capped(&folder.join(name))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(ProviderFiles {
        files,
        image: image.to_owned(),
    }))
}

/// Clones `git::URL[//SUBDIR][?ref=REF]` (the part after `git::`) into `into`;
/// the module's folder in the clone.
fn clone_module(git: &str, into: &Path) -> Result<std::path::PathBuf> {
    let (location, reference) = match git.split_once("?ref=") {
        // Terraform's other query arguments (`&depth=1`) are not the ref.
        Some((location, reference)) => (location, reference.split('&').next()),
        None => (git, None),
    };
    // `//` after the scheme's own separates the repository from a folder in it.
    let scheme_end = location.find("://").map_or(0, |i| i + 3);
    let (url, subdir) = match location[scheme_end..].find("//") {
        Some(at) => (
            &location[..scheme_end + at],
            Some(&location[scheme_end + at + 2..]),
        ),
        None => (location, None),
    };
    if url.starts_with('-') || reference.is_some_and(|r| r.starts_with('-')) {
        bail!("is not a git source (it starts with '-')");
    }
    // Fetched rather than cloned so a ref may be a branch, a tag or a commit.
    let run_git = |args: &[&std::ffi::OsStr]| -> Result<std::process::Output> {
        let mut command = Command::new("git");
        // A repository named by the environment (a git hook's GIT_DIR) would
        // be the one fetched into and checked out.
        for setting in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
            "GIT_ALTERNATE_OBJECT_DIRECTORIES",
            "GIT_COMMON_DIR",
            "GIT_NAMESPACE",
        ] {
            command.env_remove(setting);
        }
        command
            .args(args)
            .current_dir(into)
            .output()
            .context("running git (is it installed?)")
    };
    let init = run_git(&["init".as_ref(), "--quiet".as_ref()])?;
    if !init.status.success() {
        bail!(
            "git init failed: {}",
            String::from_utf8_lossy(&init.stderr).trim()
        );
    }
    let fetch = run_git(&[
        "fetch".as_ref(),
        "--quiet".as_ref(),
        "--depth".as_ref(),
        "1".as_ref(),
        "--".as_ref(),
        url.as_ref(),
        reference.unwrap_or("HEAD").as_ref(),
    ])?;
    if !fetch.status.success() {
        bail!(
            "git fetch {url}{} failed: {}; check the URL{} and that this machine can reach it",
            reference.map(|r| format!(" {r}")).unwrap_or_default(),
            String::from_utf8_lossy(&fetch.stderr).trim(),
            if reference.is_some() { " and the ref" } else { "" }
        );
    }
    let checkout = run_git(&["checkout".as_ref(), "--quiet".as_ref(), "FETCH_HEAD".as_ref()])?;
    if !checkout.status.success() {
        bail!(
            "git checkout of {url} failed: {}",
            String::from_utf8_lossy(&checkout.stderr).trim()
        );
    }
    let folder = match subdir {
        Some(subdir) if subdir.starts_with('/') || subdir.split('/').any(|part| part == "..") => {
            bail!("the folder {subdir:?} leaves the repository")
        }
        Some(subdir) => into.join(subdir),
        None => into.to_owned(),
    };
    if !folder.is_dir() {
        bail!("the repository has no folder {:?}", subdir.unwrap_or_default());
    }
    // A link committed to the repository may not lead out of the clone.
    let (clone, module) = (std::fs::canonicalize(into)?, std::fs::canonicalize(&folder)?);
    if !module.starts_with(&clone) {
        bail!(
            "the folder {:?} is a link out of the repository",
            subdir.unwrap_or_default()
        );
    }
    Ok(module)
}

/// The module's top-level `.tf` files, in name order.
fn tf_files(dir: &Path) -> Result<Vec<ModuleFile>> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("reading {}", dir.display()))?
        .into_iter()
        // Regular files only: a committed link could name any file of the user's.
        .filter(|p| {
            p.extension().is_some_and(|x| x == "tf")
                && std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file())
        })
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        let text = read_capped(&path)?;
        files.push(ModuleFile {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            text,
        });
    }
    if files.is_empty() {
        bail!(
            "{}: holds no .tf files; give the module's directory",
            dir.display()
        );
    }
    Ok(files)
}

/// A file of the module as text, at most `MAX_FILE_BYTES`.
fn read_capped(path: &Path) -> Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
        .with_context(|| format!("reading {} (UTF-8 text)", path.display()))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        bail!("{}: larger than 4 MiB; not a module's source", path.display());
    }
    Ok(text)
}
