//! The krew plugin manifest (`krew/kratix.yaml`): the rules krew's index
//! validation applies to it, and setting one platform's archive in it (what
//! `krew/build-release` does on each platform it builds on).

use serde_json::{Value, json};

/// The platforms the manifest is for, in the order they are listed.
pub const PLATFORMS: [(&str, &str); 5] = [
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
];

/// Platforms krew knows.
const KNOWN: [(&str, &str); 11] = [
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

fn is_semver_with_v(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else {
        return false;
    };
    let core = rest.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Every way `manifest` breaks krew's rules, for a file named `file_name`.
pub fn problems(manifest: &Value, file_name: &str) -> Vec<String> {
    let mut out = Vec::new();
    check_header(manifest, &mut out);
    check_name(manifest, file_name, &mut out);
    let spec = &manifest["spec"];
    check_version(spec, &mut out);
    check_descriptions(spec, &mut out);
    check_platforms(spec, &mut out);
    out
}

/// Records `message` in `out` unless `ok`.
fn need(out: &mut Vec<String>, ok: bool, message: String) {
    if !ok {
        out.push(message);
    }
}

/// The manifest's `apiVersion` and `kind`.
fn check_header(manifest: &Value, out: &mut Vec<String>) {
    need(
        out,
        manifest["apiVersion"] == "krew.googlecontainertools.github.com/v1alpha2",
        "apiVersion must be krew.googlecontainertools.github.com/v1alpha2".to_owned(),
    );
    need(
        out,
        manifest["kind"] == "Plugin",
        "kind must be Plugin".to_owned(),
    );
}

/// `metadata.name`: its characters, and that it names the file.
fn check_name(manifest: &Value, file_name: &str, out: &mut Vec<String>) {
    let name = manifest["metadata"]["name"].as_str().unwrap_or_default();
    need(
        out,
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
        format!("metadata.name {name:?} must match ^[\\w-]+$"),
    );
    need(
        out,
        file_name.strip_suffix(".yaml") == Some(name),
        format!("metadata.name {name:?} must be the file's name ({file_name})"),
    );
}

/// `spec.version`: semver with a `v` prefix.
fn check_version(spec: &Value, out: &mut Vec<String>) {
    let version = spec["version"].as_str().unwrap_or_default();
    need(
        out,
        is_semver_with_v(version),
        format!("spec.version {version:?} must be semver with a v prefix"),
    );
}

/// The homepage and descriptions are given; the short description is one line.
fn check_descriptions(spec: &Value, out: &mut Vec<String>) {
    for key in ["homepage", "shortDescription", "description"] {
        need(
            out,
            spec[key].as_str().is_some_and(|v| !v.trim().is_empty()),
            format!("spec.{key} is required"),
        );
    }
    need(
        out,
        spec["shortDescription"]
            .as_str()
            .is_none_or(|d| !d.contains('\n')),
        "spec.shortDescription must be one line".to_owned(),
    );
}

/// `spec.platforms`: at least one, each valid, none overlapping another.
fn check_platforms(spec: &Value, out: &mut Vec<String>) {
    let platforms = spec["platforms"].as_array().cloned().unwrap_or_default();
    need(
        out,
        !platforms.is_empty(),
        "spec.platforms needs at least one platform".to_owned(),
    );
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, platform) in platforms.iter().enumerate() {
        let os = check_selector(i, platform, &mut seen, out);
        check_archive(i, platform, out);
        check_bin(i, platform, &os, out);
        if let Some(files) = platform.get("files") {
            check_files(i, files, out);
        }
    }
}

/// Platform `i`'s selector: only os and arch, a platform krew knows, not one
/// already `seen` (to which it is added). Returns its os.
fn check_selector(
    i: usize,
    platform: &Value,
    seen: &mut Vec<(String, String)>,
    out: &mut Vec<String>,
) -> String {
    let labels = platform["selector"]["matchLabels"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let keys_ok = !labels.is_empty() && labels.keys().all(|k| k == "os" || k == "arch");
    need(
        out,
        keys_ok,
        format!("platforms[{i}].selector.matchLabels may hold only os and arch"),
    );
    let os = labels.get("os").and_then(Value::as_str).unwrap_or_default();
    let arch = labels.get("arch").and_then(Value::as_str).unwrap_or_default();
    need(
        out,
        KNOWN.contains(&(os, arch)),
        format!("platforms[{i}]: {os}/{arch} is not a platform krew knows"),
    );
    let key = (os.to_owned(), arch.to_owned());
    need(
        out,
        !seen.contains(&key),
        format!("platforms[{i}]: {os}/{arch} overlaps an earlier platform"),
    );
    seen.push(key);
    os.to_owned()
}

/// Platform `i`'s archive: an https `.tar.gz` or `.zip` and its sha256.
fn check_archive(i: usize, platform: &Value, out: &mut Vec<String>) {
    let uri = platform["uri"].as_str().unwrap_or_default();
    need(
        out,
        uri.starts_with("https://") && (uri.ends_with(".tar.gz") || uri.ends_with(".zip")),
        format!("platforms[{i}].uri {uri:?} must be an https .tar.gz or .zip"),
    );
    let sha = platform["sha256"].as_str().unwrap_or_default();
    need(
        out,
        sha.len() == 64
            && sha
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        format!("platforms[{i}].sha256 must be 64 lower-case hex characters"),
    );
}

/// Platform `i`'s `bin`: given, and an `.exe` on Windows.
fn check_bin(i: usize, platform: &Value, os: &str, out: &mut Vec<String>) {
    let bin = platform["bin"].as_str().unwrap_or_default();
    let bin_ok = if os == "windows" {
        bin.ends_with(".exe")
    } else {
        !bin.is_empty()
    };
    need(
        out,
        bin_ok,
        format!("platforms[{i}].bin {bin:?} (on Windows only .exe runs)"),
    );
}

/// Platform `i`'s `files`, when given: not empty, each with from and to, one a LICENSE.
fn check_files(i: usize, files: &Value, out: &mut Vec<String>) {
    let files = files.as_array().cloned().unwrap_or_default();
    need(
        out,
        !files.is_empty(),
        format!("platforms[{i}].files must not be empty when given"),
    );
    for (j, file) in files.iter().enumerate() {
        need(
            out,
            file["from"].as_str().is_some() && file["to"].as_str().is_some(),
            format!("platforms[{i}].files[{j}] needs from and to"),
        );
    }
    need(
        out,
        files.iter().any(|f| {
            let from = f["from"].as_str().unwrap_or_default().to_ascii_lowercase();
            ["license", "licenses", "copying"]
                .iter()
                .any(|l| from == *l || from == format!("{l}.txt") || from == format!("{l}.md"))
        }),
        format!("platforms[{i}] must extract a LICENSE file"),
    );
}

/// The archive's file name for a version and platform.
pub fn archive_name(version: &str, os: &str, arch: &str) -> String {
    format!("kubectl-kratix_{version}_{os}_{arch}.tar.gz")
}

/// Sets (or adds) the platform's entry, keeping the platforms in [`PLATFORMS`]
/// order and the manifest's version.
pub fn set_platform(manifest: &mut Value, os: &str, arch: &str, uri: &str, sha256: &str) {
    let binary = if os == "windows" {
        "kubectl-kratix.exe"
    } else {
        "kubectl-kratix"
    };
    let helper = if os == "windows" {
        None
    } else {
        Some("kubectl_complete-kratix")
    };
    let mut files = vec![
        json!({"from": binary, "to": "."}),
        json!({"from": "LICENSE", "to": "."}),
    ];
    if let Some(helper) = helper {
        files.insert(1, json!({"from": helper, "to": "."}));
    }
    let entry = json!({
        "selector": {"matchLabels": {"os": os, "arch": arch}},
        "uri": uri,
        "sha256": sha256,
        "bin": binary,
        "files": files,
    });
    let platforms = manifest["spec"]["platforms"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut kept: Vec<Value> = platforms
        .into_iter()
        .filter(|p| p["selector"]["matchLabels"]["os"] != os || p["selector"]["matchLabels"]["arch"] != arch)
        .collect();
    kept.push(entry);
    let rank = |p: &Value| {
        let key = (
            p["selector"]["matchLabels"]["os"].as_str().unwrap_or_default(),
            p["selector"]["matchLabels"]["arch"].as_str().unwrap_or_default(),
        );
        PLATFORMS
            .iter()
            .position(|known| *known == key)
            .unwrap_or(PLATFORMS.len())
    };
    kept.sort_by_key(rank);
    manifest["spec"]["platforms"] = Value::Array(kept);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> Value {
        json!({
            "apiVersion": "krew.googlecontainertools.github.com/v1alpha2",
            "kind": "Plugin",
            "metadata": {"name": "kratix"},
            "spec": {
                "version": "v0.1.0",
                "homepage": "https://example.org",
                "shortDescription": "Kratix workflows",
                "description": "Long text.",
                "platforms": [],
            },
        })
    }

    #[test]
    fn platforms_are_set_in_order_and_the_result_follows_the_rules() {
        let mut m = manifest();
        let sha = "a".repeat(64);
        set_platform(&mut m, "windows", "amd64", "https://x/k.tar.gz", &sha);
        set_platform(&mut m, "linux", "amd64", "https://x/k.tar.gz", &sha);
        set_platform(&mut m, "linux", "amd64", "https://x/k2.tar.gz", &sha);
        let platforms = m["spec"]["platforms"].as_array().expect("platforms");
        assert_eq!(platforms.len(), 2);
        assert_eq!(platforms[0]["uri"], "https://x/k2.tar.gz");
        assert_eq!(platforms[1]["bin"], "kubectl-kratix.exe");
        assert_eq!(problems(&m, "kratix.yaml"), Vec::<String>::new());
    }

    #[test]
    fn broken_manifests_are_named() {
        let mut m = manifest();
        set_platform(&mut m, "linux", "amd64", "http://x/k.tar.gz", "ABC");
        m["spec"]["version"] = json!("0.1.0");
        let found = problems(&m, "other.yaml");
        for expected in [
            "must be the file's name",
            "semver with a v prefix",
            "https .tar.gz",
            "64 lower-case hex",
        ] {
            assert!(
                found.iter().any(|p| p.contains(expected)),
                "{expected}: {found:?}"
            );
        }
        assert!(is_semver_with_v("v1.2.3-rc.1"));
        assert!(!is_semver_with_v("v1.2"));
    }
}
