//! `reader`: the workflow's object, with its status, into `/kratix/input/object.yaml`.

use std::path::Path;

use anyhow::{Context, Result};
use kratix_shared::pipeline_pod::pod_files::OBJECT_FILE;

use super::{client, describe, env, object_api};

/// How much of the object the reader echoes to its log.
const ECHO_BYTES: usize = 500;

pub async fn run(input_dir: &Path) -> Result<()> {
    let env = env()?;
    let client = client().await?;
    let (api, _) = object_api(&client, &env);
    let object = api
        .get(&env.name)
        .await
        .with_context(|| format!("reading {}", describe(&env)))?;
    let yaml = serde_saphyr::to_string(&object).context("encoding the object as YAML")?;
    std::fs::create_dir_all(input_dir).with_context(|| format!("creating {}", input_dir.display()))?;
    let file = input_dir.join(OBJECT_FILE);
    std::fs::write(&file, &yaml).with_context(|| format!("writing {}", file.display()))?;
    let echo: String = yaml.chars().take(ECHO_BYTES).collect();
    println!("wrote {} ({} bytes):\n{echo}", file.display(), yaml.len());
    Ok(())
}
