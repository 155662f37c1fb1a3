//! The tools the pipeline images of other people's Promises call (Kratix's test
//! Promises and the Marketplace run `sh`, `bash`, `env`, `kubectl`, `yq` and
//! `jq`), made available to the local platform's images: mikefarah's yq v4 built
//! from the Go module proxy by module name and version (a stand-in would not parse
//! the same expressions), the control plane's own kubectl, and bash and jq from
//! the machine's packages.

use std::path::PathBuf;
use std::process::Command;

use crate::error::{Result, StepContext, fail};
use crate::images::{ImageSpec, which};

pub const YQ_MODULE: &str = "github.com/mikefarah/yq/v4";
/// The newest release the module proxy serves that builds with this machine's Go.
pub const YQ_VERSION: &str = "v4.54.3";

fn tools_cache() -> PathBuf {
    crate::platform::paths::kubernetes_cache()
        .parent()
        .map(|p| p.join("tools"))
        .unwrap_or_else(|| PathBuf::from("/tmp/kubectl-kratix-testenv/tools"))
}

/// mikefarah's yq, built once (about a minute on 2 cores, a static binary) and
/// cached by version.
pub fn yq() -> Result<PathBuf> {
    let dir = tools_cache().join(format!("yq-{YQ_VERSION}"));
    let binary = dir.join("yq");
    if binary.is_file() {
        return Ok(binary);
    }
    let step = format!("building yq {YQ_VERSION} from the Go module proxy");
    let go = which("go").ok_or_else(|| fail(&step, "no 'go' on PATH: it builds yq from its module"))?;
    std::fs::create_dir_all(&dir).step(&step)?;
    // A private build cache, gone with the build: only the binary is kept.
    let work = tempfile::tempdir_in(&dir).step(&step)?;
    let output = Command::new(go)
        .args(["install", "-trimpath", "-ldflags=-s -w"])
        .arg(format!("{YQ_MODULE}@{YQ_VERSION}"))
        .env("GOBIN", work.path().join("bin"))
        .env("GOCACHE", work.path().join("cache"))
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "-mod=mod")
        .output()
        .step(&step)?;
    if !output.status.success() {
        return Err(fail(
            &step,
            format!("go install: {}", String::from_utf8_lossy(&output.stderr).trim()),
        ));
    }
    // In place at once, so a concurrent build never sees half a binary.
    std::fs::rename(work.path().join("bin/yq"), &binary).step(&step)?;
    Ok(binary)
}

/// Adds the tools to an image: yq and kubectl (static), bash and jq (with their
/// libraries), and `/usr/bin/env` for `#!/usr/bin/env bash` scripts.
pub fn add_pipeline_tools(spec: &mut ImageSpec) -> Result<()> {
    let step = "adding the pipeline tools to the image";
    spec.binaries.push(yq()?);
    spec.binaries.push(crate::support::kubectl_binary());
    for (tool, package) in [("bash", "bash"), ("jq", "jq")] {
        let path = which(tool).ok_or_else(|| {
            fail(
                step,
                format!("{tool} is not installed (apt-get install {package})"),
            )
        })?;
        spec.binaries.push(path);
    }
    spec.links
        .push(("/usr/bin/env".to_owned(), "/bin/busybox".to_owned()));
    spec.links
        .push(("/usr/bin/bash".to_owned(), "/bin/bash".to_owned()));
    Ok(())
}
