//! The Pulumi package schema `promise init --pulumi-schema` starts from: a
//! file on disk, read offline, or an HTTP(S) URL fetched here (and again by
//! the pipeline). JSON or YAML, at most 64 MiB. A token for a private schema
//! comes from `PULUMI_ACCESS_TOKEN` (or the file `PULUMI_ACCESS_TOKEN_FILE`
//! names), as Pulumi's own tools read it, and is sent over HTTPS only.

use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use kratix_shared::authoring::pulumi_promise::SchemaLocation;
use serde_json::Value;

/// The most a schema may hold: a component package's is far smaller, a
/// cloud provider's whole schema a little larger.
const MAX_SCHEMA_BYTES: usize = 64 << 20;

/// How long fetching a schema may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// The schema read, and where the pipeline finds it.
pub struct Schema {
    pub text: String,
    pub value: Value,
    pub location: SchemaLocation,
    /// What the user should know about how it was read.
    pub warnings: Vec<String>,
}

/// `--pulumi-schema SOURCE`; `image` is the one a file on disk is baked into;
/// `sends_token` says the pipeline fetches the schema with a token.
pub fn read(source: &str, image: Option<&str>, sends_token: bool) -> Result<Schema> {
    let mut warnings = Vec::new();
    let (text, location) = match url_scheme(source) {
        Some(scheme) if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http") => {
            let secure = scheme.eq_ignore_ascii_case("https");
            if !secure && sends_token {
                bail!(
                    "--schema-bearer-token-secret: the pipeline would send the token in the clear to {source}; use an https:// URL"
                );
            }
            if image.is_some() {
                bail!(
                    "--image: names the image a schema on disk is baked into; {source} is fetched by the pipeline"
                );
            }
            let text = crate::cluster::runtime()
                .context("starting the HTTP client")?
                .block_on(fetch(source, secure, &mut warnings))
                .with_context(|| format!("--pulumi-schema {source}"))?;
            (text, SchemaLocation::Url(source.to_owned()))
        }
        Some(scheme) => {
            bail!("--pulumi-schema {source}: {scheme}:// is not read; give a file or an http(s):// URL")
        }
        None => {
            if sends_token {
                bail!(
                    "--schema-bearer-token-secret: the pipeline fetches no schema with it: {source} is a file on disk"
                );
            }
            let text = read_file(Path::new(source))?;
            let location = match image {
                Some(image) => SchemaLocation::Baked {
                    image: image.to_owned(),
                    file_name: baked_file_name(source),
                },
                None => {
                    warnings.push(format!(
                        "PULUMI_SCHEMA_SOURCE is the local path {source}: the pipeline cannot read it there; publish the schema at an https:// URL, or pass --image IMAGE to bake it into the pipeline's image"
                    ));
                    SchemaLocation::Unreachable(source.to_owned())
                }
            };
            (text, location)
        }
    };
    let value = parse(&text).with_context(|| format!("--pulumi-schema {source}"))?;
    Ok(Schema {
        text,
        value,
        location,
        warnings,
    })
}

/// The scheme of `source` when it is a URL (`scheme://...`).
fn url_scheme(source: &str) -> Option<&str> {
    let (scheme, _) = source.split_once("://")?;
    let is_scheme = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some(scheme)
}

/// The schema's name in the image: JSON unless the file says YAML.
fn baked_file_name(source: &str) -> String {
    let yaml = Path::new(source)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"));
    if yaml { "schema.yaml" } else { "schema.json" }.to_owned()
}

fn read_file(path: &Path) -> Result<String> {
    let shown = path.display();
    let metadata =
        std::fs::metadata(path).with_context(|| format!("--pulumi-schema {shown}: no such file"))?;
    if !metadata.is_file() {
        bail!("--pulumi-schema {shown}: is not a file; give the package schema (schema.json)");
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SCHEMA_BYTES as u64 + 1).read_to_string(&mut text))
        .with_context(|| format!("reading {shown} (UTF-8 text)"))?;
    if text.len() > MAX_SCHEMA_BYTES {
        bail!("--pulumi-schema {shown}: larger than 64 MiB; not a package schema");
    }
    Ok(text)
}

/// The token for a private schema, from the environment Pulumi's tools read.
fn access_token() -> Result<Option<String>> {
    if let Some(token) = std::env::var("PULUMI_ACCESS_TOKEN")
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
    {
        return Ok(Some(token));
    }
    let Some(file) = std::env::var_os("PULUMI_ACCESS_TOKEN_FILE").filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    let mut token = String::new();
    std::fs::File::open(&file)
        .and_then(|f| f.take(64 << 10).read_to_string(&mut token))
        .with_context(|| format!("reading PULUMI_ACCESS_TOKEN_FILE {}", Path::new(&file).display()))?;
    Ok(Some(token.trim().to_owned()).filter(|t| !t.is_empty()))
}

async fn fetch(url: &str, secure: bool, warnings: &mut Vec<String>) -> Result<String> {
    let client = reqwest::Client::builder()
        .timeout(FETCH_TIMEOUT)
        // A redirect may lead to plain HTTP; the token must not follow it there.
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("more than 5 redirects")
            } else if attempt.url().scheme() != "https"
                && attempt.previous().first().is_some_and(|u| u.scheme() == "https")
            {
                attempt.error("a redirect from https to plain http")
            } else {
                attempt.follow()
            }
        }))
        .build()
        .context("making the HTTP client")?;
    let mut request = client.get(url);
    match access_token()? {
        Some(token) if secure => request = request.bearer_auth(token),
        Some(_) => warnings.push("PULUMI_ACCESS_TOKEN is set but not sent: the URL is plain http".to_owned()),
        None => {}
    }
    let response = request
        .send()
        .await
        .context("fetching it failed; check the URL and that this machine can reach it")?;
    let status = response.status();
    if !status.is_success() {
        let hint = match status.as_u16() {
            401 | 403 => "; a private schema needs PULUMI_ACCESS_TOKEN (or PULUMI_ACCESS_TOKEN_FILE) set",
            404 => "; check the URL",
            _ => "",
        };
        bail!("the server answered {status}{hint}");
    }
    if response
        .content_length()
        .is_some_and(|length| length > MAX_SCHEMA_BYTES as u64)
    {
        bail!("larger than 64 MiB; not a package schema");
    }
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response.chunk().await.context("reading the answer")? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_SCHEMA_BYTES {
            bail!("larger than 64 MiB; not a package schema");
        }
    }
    String::from_utf8(body).context("is not UTF-8 text")
}

/// The schema as JSON, or YAML (which Pulumi also reads).
fn parse(text: &str) -> Result<Value> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Ok(value),
        Err(json_error) => match serde_saphyr::from_str::<Value>(text) {
            Ok(value) => Ok(value),
            Err(yaml_error) => {
                bail!("is neither JSON ({json_error}) nor YAML ({yaml_error}); give a Pulumi package schema")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_urls_have_schemes() {
        assert_eq!(url_scheme("https://example.org/schema.json"), Some("https"));
        assert_eq!(url_scheme("file:///tmp/schema.json"), Some("file"));
        assert_eq!(url_scheme("schema.json"), None);
        assert_eq!(url_scheme("dir/with ://odd"), None);
        assert_eq!(baked_file_name("x/schema.YAML"), "schema.yaml");
        assert_eq!(baked_file_name("schema"), "schema.json");
    }
}
