//! `krew-manifest`: what `krew/build-release` and the krew test need of the krew
//! plugin manifest.
//!   krew-manifest set-platform --manifest FILE --os OS --arch ARCH --uri URI --sha256 SHA
//!   krew-manifest merge --into FILE --from FILE
//!   krew-manifest check FILE

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::Value;

#[derive(Parser)]
#[command(
    name = "krew-manifest",
    about = "Set a platform's archive in the krew manifest, or check the manifest"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Set (or add) one platform's archive URI and sha256.
    SetPlatform {
        #[arg(long)]
        manifest: PathBuf,
        #[arg(long)]
        os: String,
        #[arg(long)]
        arch: String,
        #[arg(long)]
        uri: String,
        #[arg(long)]
        sha256: String,
    },
    /// Copy every platform entry of one manifest into another (the release
    /// workflow's last step, after one runner per platform).
    Merge {
        #[arg(long)]
        into: PathBuf,
        #[arg(long)]
        from: PathBuf,
    },
    /// Print every way the manifest breaks krew's rules; exit 1 if any.
    Check { manifest: PathBuf },
}

fn read(path: &PathBuf) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_saphyr::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn run() -> Result<ExitCode, String> {
    match Cli::parse().command {
        Command::SetPlatform {
            manifest,
            os,
            arch,
            uri,
            sha256,
        } => {
            let mut value = read(&manifest)?;
            kratix_krew::set_platform(&mut value, &os, &arch, &uri, &sha256);
            let text = serde_saphyr::to_string(&value).map_err(|e| format!("encoding the manifest: {e}"))?;
            std::fs::write(&manifest, text).map_err(|e| format!("{}: {e}", manifest.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Merge { into, from } => {
            let mut target = read(&into)?;
            let source = read(&from)?;
            for platform in source["spec"]["platforms"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let labels = &platform["selector"]["matchLabels"];
                let field = |key: &str| platform[key].as_str().unwrap_or_default().to_owned();
                kratix_krew::set_platform(
                    &mut target,
                    labels["os"].as_str().unwrap_or_default(),
                    labels["arch"].as_str().unwrap_or_default(),
                    &field("uri"),
                    &field("sha256"),
                );
            }
            let text = serde_saphyr::to_string(&target).map_err(|e| format!("encoding the manifest: {e}"))?;
            std::fs::write(&into, text).map_err(|e| format!("{}: {e}", into.display()))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { manifest } => {
            let value = read(&manifest)?;
            let name = manifest
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let problems = kratix_krew::problems(&value, &name);
            for problem in &problems {
                println!("{}: {problem}", manifest.display());
            }
            Ok(if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

fn main() -> ExitCode {
    run().unwrap_or_else(|error| {
        eprintln!("krew-manifest: {error}");
        ExitCode::from(1)
    })
}
