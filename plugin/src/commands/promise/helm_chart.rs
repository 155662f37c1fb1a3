//! The Helm chart `promise init --helm-chart` starts from: a directory or a
//! packaged `.tgz` on disk, read offline, or a repository or OCI reference
//! fetched with `helm pull` when helm is on PATH. Only `Chart.yaml`,
//! `values.yaml` and `values.schema.json` are read (each at most 4 MiB); a
//! chart on disk is then copied beside the scaffold that bakes it into the
//! pipeline's image.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use kratix_shared::authoring::helm_promise::{ChartFiles, ChartLocation};

/// The most one of the chart's files may hold.
const MAX_FILE_BYTES: u64 = 4 << 20;

/// The chart's files, and where the pipeline will find it.
pub struct Chart {
    pub files: ChartFiles,
    pub on_disk: Option<PathBuf>,
}

/// `--helm-chart SOURCE` with `--chart-name` and `--chart-version`.
pub fn read(source: &str, name: Option<&str>, version: Option<&str>) -> Result<Chart> {
    let path = Path::new(source);
    if path.exists() {
        if name.is_some() {
            bail!("--chart-name: names a chart in a repository; --helm-chart {source} is a chart on disk");
        }
        let files = if path.is_dir() {
            read_dir(path)?
        } else {
            read_archive(path)?
        };
        return Ok(Chart {
            files,
            on_disk: Some(path.to_owned()),
        });
    }
    if !["oci://", "http://", "https://"]
        .iter()
        .any(|p| source.starts_with(p))
    {
        bail!(
            "--helm-chart {source}: no such directory or file, and not a repository or OCI URL (oci://, https://)"
        );
    }
    Ok(Chart {
        files: pull(source, name, version)?,
        on_disk: None,
    })
}

/// Where the pipeline finds the chart: in the user's `image`, or fetched by the stage.
pub fn location(
    chart: &Chart,
    source: &str,
    name: Option<&str>,
    version: Option<&str>,
    image: Option<&str>,
) -> Result<ChartLocation> {
    match &chart.on_disk {
        Some(path) => {
            let Some(image) = image else {
                bail!(
                    "--image: a chart on disk is baked into the pipeline's image; name it, as in --image example.org/{}-chart:v0.1.0",
                    chart_name_hint(&chart.files)
                );
            };
            let file = path
                .is_file()
                .then(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
                .flatten();
            Ok(ChartLocation::Local {
                image: image.to_owned(),
                file,
            })
        }
        None => {
            if image.is_some() {
                bail!(
                    "--image: a chart in a repository is fetched by kratix-cli's helm stage image; --image is only for a chart on disk"
                );
            }
            Ok(ChartLocation::Remote {
                url: source.to_owned(),
                name: name.map(str::to_owned),
                version: version.map(str::to_owned),
            })
        }
    }
}

fn chart_name_hint(files: &ChartFiles) -> String {
    Path::new(&files.source)
        .file_stem()
        .map(|s| s.to_string_lossy().trim_end_matches(".tar").to_owned())
        .unwrap_or_else(|| "my".to_owned())
}

fn read_capped(path: &Path) -> Result<Option<String>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
    };
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {} (UTF-8 text)", path.display()))?;
    if text.len() as u64 > MAX_FILE_BYTES {
        bail!("{}: larger than 4 MiB; not a chart's values", path.display());
    }
    Ok(Some(text))
}

fn read_dir(dir: &Path) -> Result<ChartFiles> {
    Ok(ChartFiles {
        source: dir.display().to_string(),
        chart_yaml: read_capped(&dir.join("Chart.yaml"))?,
        values_yaml: read_capped(&dir.join("values.yaml"))?,
        values_schema_json: read_capped(&dir.join("values.schema.json"))?,
    })
}

/// The chart's files from a packaged chart (`helm package`'s `.tgz`: one
/// top-level folder holding the chart; subcharts under `charts/` are not read).
fn read_archive(path: &Path) -> Result<ChartFiles> {
    let source = path.display().to_string();
    let file = std::fs::File::open(path).with_context(|| format!("reading {source}"))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut files = ChartFiles {
        source: source.clone(),
        ..ChartFiles::default()
    };
    let entries = archive
        .entries()
        .with_context(|| format!("{source}: not a packaged chart (a .tgz)"))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("{source}: not a packaged chart (a .tgz)"))?;
        let parts: Vec<String> = entry
            .path()
            .with_context(|| format!("{source}: an entry with no path"))?
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let [_, name] = parts.as_slice() else {
            continue;
        };
        let slot = match name.as_str() {
            "Chart.yaml" => &mut files.chart_yaml,
            "values.yaml" => &mut files.values_yaml,
            "values.schema.json" => &mut files.values_schema_json,
            _ => continue,
        };
        if entry.size() > MAX_FILE_BYTES {
            bail!("{source}: {name} is larger than 4 MiB; not a chart's values");
        }
        let mut text = String::new();
        entry
            .take(MAX_FILE_BYTES)
            .read_to_string(&mut text)
            .with_context(|| format!("{source}: {name} is not UTF-8 text"))?;
        *slot = Some(text);
    }
    Ok(files)
}

/// Fetches the chart with `helm pull` into a temporary folder and reads it.
fn pull(source: &str, name: Option<&str>, version: Option<&str>) -> Result<ChartFiles> {
    if source.starts_with('-')
        || name.is_some_and(|n| n.starts_with('-'))
        || version.is_some_and(|v| v.starts_with('-'))
    {
        bail!(
            "--helm-chart, --chart-name and --chart-version may not start with '-' (helm would read them as its options)"
        );
    }
    let Some(helm) = find_on_path("helm") else {
        bail!(
            "--helm-chart {source}: fetching a chart from a repository needs helm on PATH; install helm, or download the chart (helm pull) and pass its .tgz or directory"
        );
    };
    let folder = tempfile::tempdir().context("making a folder to fetch the chart into")?;
    let mut command = Command::new(helm);
    command.arg("pull");
    match name {
        Some(name) => command.args([name, "--repo", source]),
        None => command.arg(source),
    };
    if let Some(version) = version {
        command.args(["--version", version]);
    }
    command.arg("--destination").arg(folder.path());
    let output = command.output().context("running helm pull")?;
    if !output.status.success() {
        bail!(
            "--helm-chart {source}: helm pull failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let archive = std::fs::read_dir(folder.path())
        .context("reading the chart helm pulled")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .with_context(|| format!("--helm-chart {source}: helm pull wrote no .tgz"))?;
    let mut files = read_archive(&archive)?;
    files.source = source.to_owned();
    Ok(files)
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Copies a chart on disk to `into` (the scaffold's `chart/` folder): a
/// packaged chart as it is, a directory's regular files (links and `.git`
/// left out, as `helm package` leaves them).
pub fn copy_chart(from: &Path, into: &Path) -> Result<()> {
    std::fs::create_dir_all(into).with_context(|| format!("creating {}", into.display()))?;
    copy_tree(from, into)
}

/// Refuses a Promise directory inside the chart directory it is made from:
/// copying the chart would copy its own copy, without end.
pub fn refuse_inside(chart: &Path, promise_dir: &Path) -> Result<()> {
    let chart = std::fs::canonicalize(chart).with_context(|| format!("reading {}", chart.display()))?;
    let promise = std::path::absolute(promise_dir)?;
    if chart.is_dir() && promise.starts_with(&chart) {
        bail!(
            "--dir {}: is inside the chart {} it is made from; choose a directory outside the chart",
            promise_dir.display(),
            chart.display()
        );
    }
    Ok(())
}

fn copy_tree(from: &Path, into: &Path) -> Result<()> {
    std::fs::create_dir_all(into).with_context(|| format!("creating {}", into.display()))?;
    if from.is_file() {
        let name = from.file_name().context("a chart file has a name")?;
        std::fs::copy(from, into.join(name)).with_context(|| format!("copying {}", from.display()))?;
        return Ok(());
    }
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry.with_context(|| format!("reading {}", from.display()))?;
        let kind = entry
            .file_type()
            .with_context(|| format!("reading {}", entry.path().display()))?;
        let target = into.join(entry.file_name());
        if entry.file_name() == ".git" || kind.is_symlink() {
            continue;
        }
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}
