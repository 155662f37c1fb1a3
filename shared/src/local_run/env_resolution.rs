//! A container's environment as the kubelet builds it, from the Secrets and
//! ConfigMaps given on the command line instead of a cluster's: `envFrom` in
//! order, then `env` (later names win), `$(VAR)` references expanded against
//! what is defined before them, `fieldRef` and `resourceFieldRef` read from the
//! pod that would run.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource};

use super::{PlanProblem, PodFacts, SourceKind as Kind, Sources, quantity};

/// One variable of a container's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedVar {
    pub name: String,
    pub value: String,
    /// From a Secret: kept off command lines (the engine reads it from its own
    /// environment).
    pub secret: bool,
}

/// The container's variables in the order the container sees them defined.
pub fn resolve_env(
    container: &Container,
    sources: &Sources,
    pod: &PodFacts<'_>,
    problem: &dyn Fn(String, String) -> PlanProblem,
) -> Result<Vec<ResolvedVar>, Vec<PlanProblem>> {
    let mut vars: Vec<ResolvedVar> = Vec::new();
    let mut problems = Vec::new();
    for (index, from) in container.env_from.iter().flatten().enumerate() {
        let field = format!("envFrom[{index}]");
        let prefix = from.prefix.clone().unwrap_or_default();
        let reference = match (&from.secret_ref, &from.config_map_ref) {
            (Some(secret), _) => Some((Kind::Secret, secret.name.as_str(), secret.optional)),
            (None, Some(map)) => Some((Kind::ConfigMap, map.name.as_str(), map.optional)),
            (None, None) => None,
        };
        let Some((kind, name, optional)) = reference else {
            continue;
        };
        match kind.given(sources).get(name) {
            Some(data) => {
                for (key, bytes) in data.iter().filter(|(key, _)| !key.contains('=')) {
                    match text(bytes) {
                        Some(value) => define(
                            &mut vars,
                            format!("{prefix}{key}"),
                            value,
                            matches!(kind, Kind::Secret),
                        ),
                        None => problems.push(problem(field.clone(), not_text(kind, name, key))),
                    }
                }
            }
            None if optional == Some(true) => {}
            None => problems.push(problem(field, not_given(kind, name))),
        }
    }
    for var in container.env.iter().flatten() {
        match value_of(var, &vars, sources, pod, container) {
            Ok(Some((value, secret))) => define(&mut vars, var.name.clone(), value, secret),
            Ok(None) => {}
            Err(message) => problems.push(problem(format!("env {}", var.name), message)),
        }
    }
    for var in &vars {
        if let Err(message) = passable(var) {
            problems.push(problem(format!("env {}", var.name), message));
        }
    }
    if problems.is_empty() {
        Ok(vars)
    } else {
        Err(problems)
    }
}

/// Whether the engine can give `var` to the container as it is. A name is
/// printable ASCII without `=` (as Kubernetes requires), a value holds no NUL
/// (no command line or environment can carry one), and a Secret's variable,
/// which reaches the container through the engine's own environment, may not
/// be one the engine, its dynamic loader or its network stack reads.
fn passable(var: &ResolvedVar) -> Result<(), String> {
    let name = &var.name;
    if name.is_empty() || name.contains('=') || !name.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err(format!(
            "{name:?} is not an environment variable name (printable ASCII, no '=')"
        ));
    }
    if var.value.contains('\0') {
        return Err("its value holds a NUL byte, which no environment can carry".to_owned());
    }
    if var.secret && engine_reads(name) {
        return Err(format!(
            "holds a Secret's value, which a local run passes through the container engine's own environment, and the engine, its loader or its proxy settings read {name}: rename the variable (on a cluster the kubelet sets it directly)"
        ));
    }
    Ok(())
}

/// Names a container engine's process (podman, docker, their Go runtime, the
/// dynamic loader, HTTP clients) reads from its environment.
fn engine_reads(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "HOME",
        "PATH",
        "TMPDIR",
        "TMP",
        "TEMP",
        "USER",
        "LOGNAME",
        "SHELL",
        "TERM",
        "TZ",
        "LANG",
        "IFS",
        "NOTIFY_SOCKET",
        "REGISTRY_AUTH_FILE",
        "CONTAINER_HOST",
        "CONTAINER_CONNECTION",
        "CONTAINER_SSHKEY",
        "CONTAINER_PASSPHRASE",
        "GODEBUG",
        "GOGC",
        "GOMAXPROCS",
        "GOMEMLIMIT",
        "GOTRACEBACK",
        "GOTMPDIR",
    ];
    const PREFIXES: &[&str] = &[
        "LD_",
        "DOCKER_",
        "CONTAINERS_",
        "_CONTAINERS_",
        "PODMAN_",
        "BUILDAH_",
        "STORAGE_",
        "XDG_",
        "DBUS_",
        "LC_",
        "SSL_",
        "SSH_",
    ];
    let upper = name.to_ascii_uppercase();
    EXACT.contains(&name)
        || PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || upper.ends_with("_PROXY")
        || upper == "NO_PROXY"
}

/// Defines `name`, replacing an earlier definition in place (the kubelet
/// keeps one value per name, the last one given).
fn define(vars: &mut Vec<ResolvedVar>, name: String, value: String, secret: bool) {
    vars.retain(|v| v.name != name);
    vars.push(ResolvedVar { name, value, secret });
}

/// One `env` entry's value and whether it is secret; `None` for an optional
/// reference that is not there (the variable is then not set).
fn value_of(
    var: &EnvVar,
    defined: &[ResolvedVar],
    sources: &Sources,
    pod: &PodFacts<'_>,
    container: &Container,
) -> Result<Option<(String, bool)>, String> {
    let Some(source) = &var.value_from else {
        let raw = var.value.clone().unwrap_or_default();
        // A value made from a Secret's is as secret as it is.
        let secret = references_secret(&raw, defined);
        return Ok(Some((expand(&raw, |name| lookup(defined, name)), secret)));
    };
    let EnvVarSource {
        secret_key_ref,
        config_map_key_ref,
        field_ref,
        resource_field_ref,
        ..
    } = source;
    if let Some(reference) = secret_key_ref {
        return key_value(
            Kind::Secret,
            &reference.name,
            &reference.key,
            reference.optional,
            sources,
        )
        .map(|v| v.map(|value| (value, true)));
    }
    if let Some(reference) = config_map_key_ref {
        return key_value(
            Kind::ConfigMap,
            &reference.name,
            &reference.key,
            reference.optional,
            sources,
        )
        .map(|v| v.map(|value| (value, false)));
    }
    if let Some(field) = field_ref {
        return pod.field(&field.field_path).map(|value| Some((value, false)));
    }
    if let Some(resource) = resource_field_ref {
        let divisor = resource.divisor.as_ref().map(|q| q.0.as_str());
        return quantity::resource_field(container, &resource.resource, divisor)
            .map(|value| Some((value, false)));
    }
    Err("valueFrom names no source (secretKeyRef, configMapKeyRef, fieldRef or resourceFieldRef)".to_owned())
}

fn key_value(
    kind: Kind,
    name: &str,
    key: &str,
    optional: Option<bool>,
    sources: &Sources,
) -> Result<Option<String>, String> {
    let optional = optional == Some(true);
    let Some(data) = kind.given(sources).get(name) else {
        return if optional {
            Ok(None)
        } else {
            Err(not_given(kind, name))
        };
    };
    match data.get(key) {
        Some(bytes) => text(bytes).map(Some).ok_or_else(|| not_text(kind, name, key)),
        None if optional => Ok(None),
        None => Err(format!(
            "{} {name} has no key {key:?} (it has {}); add a file named {key} to what {} {name}= gives",
            kind.word(),
            keys(data),
            kind.flag()
        )),
    }
}

fn keys(data: &BTreeMap<String, Vec<u8>>) -> String {
    if data.is_empty() {
        "none".to_owned()
    } else {
        data.keys().map(String::as_str).collect::<Vec<_>>().join(", ")
    }
}

fn text(bytes: &[u8]) -> Option<String> {
    String::from_utf8(bytes.to_vec())
        .ok()
        .filter(|t| !t.contains('\0'))
}

fn not_given(kind: Kind, name: &str) -> String {
    kind.not_given(name)
}

fn not_text(kind: Kind, name: &str, key: &str) -> String {
    format!(
        "{} {name} key {key:?} is not UTF-8 text without NUL bytes, so it cannot be an environment variable",
        kind.word()
    )
}

/// Whether expanding `input` would put a secret variable's value into it.
pub fn references_secret(input: &str, defined: &[ResolvedVar]) -> bool {
    let used = std::cell::Cell::new(false);
    expand(input, |name| {
        let found = defined.iter().find(|v| v.name == name)?;
        used.set(used.get() || found.secret);
        Some(found.value.clone())
    });
    used.get()
}

fn lookup(defined: &[ResolvedVar], name: &str) -> Option<String> {
    defined.iter().find(|v| v.name == name).map(|v| v.value.clone())
}

/// Kubernetes' `$(VAR)` expansion: a defined variable's value replaces the
/// reference, an undefined one stays as written, `$$` is a literal `$`.
pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        match after.chars().next() {
            Some('$') => {
                out.push('$');
                rest = &after[1..];
            }
            Some('(') => match after.find(')') {
                Some(close) => {
                    let name = &after[1..close];
                    match lookup(name) {
                        Some(value) => out.push_str(&value),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = &after[1..];
                }
            },
            Some(other) => {
                out.push('$');
                out.push(other);
                rest = &after[other.len_utf8()..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_expand_as_the_kubelet_expands_them() {
        let lookup = |name: &str| (name == "A").then(|| "1".to_owned());
        assert_eq!(expand("x$(A)y", lookup), "x1y");
        assert_eq!(expand("$(B)", lookup), "$(B)");
        assert_eq!(expand("$$(A)", lookup), "$(A)");
        assert_eq!(expand("$$$(A)", lookup), "$1");
        assert_eq!(expand("cost: $5 $", lookup), "cost: $5 $");
        assert_eq!(expand("$(A", lookup), "$(A");
        assert_eq!(expand("é$(A)€", lookup), "é1€");
    }

    fn var(name: &str, value: &str, secret: bool) -> ResolvedVar {
        ResolvedVar {
            name: name.to_owned(),
            value: value.to_owned(),
            secret,
        }
    }

    #[test]
    fn a_secret_never_reaches_the_engine_under_a_name_it_reads() {
        for name in [
            "DOCKER_HOST",
            "CONTAINER_HOST",
            "https_proxy",
            "HTTPS_PROXY",
            "LD_PRELOAD",
            "HOME",
            "PATH",
            "XDG_RUNTIME_DIR",
        ] {
            let refused = passable(&var(name, "hunter2", true)).unwrap_err();
            assert!(refused.contains("rename the variable"), "{name}: {refused}");
            assert!(!refused.contains("hunter2"), "{refused}");
            passable(&var(name, "plain", false)).expect("a plain value goes on the command line");
        }
        for name in [
            "PASSWORD",
            "CONTAINER_REGISTRY_TOKEN",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "db.password",
        ] {
            passable(&var(name, "hunter2", true)).expect(name);
        }
    }

    #[test]
    fn names_and_values_an_engine_cannot_carry_are_refused() {
        for name in ["", "A=B", "TAB\tNAME", "NUL\0"] {
            let refused = passable(&var(name, "v", false)).unwrap_err();
            assert!(
                refused.contains("is not an environment variable name"),
                "{refused}"
            );
        }
        assert!(passable(&var("A", "x\0y", false)).unwrap_err().contains("NUL"));
    }
}
