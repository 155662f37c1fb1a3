//! The Terraform module `promise init --terraform-module` starts from: a
//! directory on disk, read offline, or a `git::` source cloned with git
//! (`git::URL[//SUBDIR][?ref=REF]`, as Terraform writes it). The module's
//! top-level `.tf` files are read (each at most 4 MiB); no `terraform` CLI is
//! needed.

use std::io::Read as _;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use kratix_shared::authoring::terraform_promise::{ModuleFile, ModuleInput};

/// The most one `.tf` file may hold.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// `--terraform-module SOURCE` read, with how the pipeline names it.
pub fn read(source: &str, generate_outputs: bool) -> Result<ModuleInput> {
    let path = Path::new(source);
    if path.is_dir() {
        return Ok(ModuleInput {
            from: source.to_owned(),
            source: source.to_owned(),
            registry_version: None,
            files: tf_files(path)?,
            generate_outputs,
        });
    }
    if let Some(git) = source.strip_prefix("git::") {
        let clone = tempfile::tempdir().context("making a folder to clone the module into")?;
        let folder =
            clone_module(git, clone.path()).with_context(|| format!("--terraform-module {source}"))?;
        return Ok(ModuleInput {
            from: source.to_owned(),
            source: source.to_owned(),
            registry_version: None,
            files: tf_files(&folder)?,
            generate_outputs,
        });
    }
    if path.exists() {
        bail!("--terraform-module {source}: is a file; give the module's directory");
    }
    bail!(
        "--terraform-module {source}: no such directory, and not a git:: source; a module from a Terraform registry is not fetched yet: clone or download it and pass its directory (or its git:: source)"
    )
}

/// Clones `git::URL[//SUBDIR][?ref=REF]` (the part after `git::`) into `into`;
/// the module's folder in the clone.
fn clone_module(git: &str, into: &Path) -> Result<std::path::PathBuf> {
    let (location, reference) = match git.split_once("?ref=") {
        Some((location, reference)) => (location, Some(reference)),
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
    let mut command = Command::new("git");
    command.args(["clone", "--quiet", "--depth", "1"]);
    if let Some(reference) = reference {
        command.args(["--branch", reference]);
    }
    command.arg("--").arg(url).arg(into);
    let output = command.output().context("running git (is it installed?)")?;
    if !output.status.success() {
        bail!(
            "git clone {url} failed: {}; check the URL and that this machine can reach it",
            String::from_utf8_lossy(&output.stderr).trim()
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
        let mut text = String::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(MAX_FILE_BYTES + 1).read_to_string(&mut text))
            .with_context(|| format!("reading {} (UTF-8 text)", path.display()))?;
        if text.len() as u64 > MAX_FILE_BYTES {
            bail!("{}: larger than 4 MiB; not a module's source", path.display());
        }
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
