//! Kubernetes name rules: DNS labels and subdomains, label keys and values.
//! Each check returns why a name is invalid, or `None`.

const MAX_LABEL_VALUE: usize = 63;
const MAX_DNS_LABEL: usize = 63;
const MAX_DNS_SUBDOMAIN: usize = 253;

fn is_alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// A label value: empty, or at most 63 characters of `[A-Za-z0-9_.-]` that
/// begin and end with a letter or digit.
pub fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return None;
    }
    if value.len() > MAX_LABEL_VALUE {
        return Some(format!(
            "must be at most {MAX_LABEL_VALUE} characters (it has {})",
            value.len()
        ));
    }
    name_part_problem(value)
}

fn name_part_problem(value: &str) -> Option<String> {
    let valid_chars = value.chars().all(|c| is_alnum(c) || matches!(c, '-' | '_' | '.'));
    let valid_ends = value.starts_with(is_alnum) && value.ends_with(is_alnum);
    if valid_chars && valid_ends {
        None
    } else {
        Some(
            "must consist of letters, digits, '-', '_' or '.', and begin and end with a letter or digit"
                .to_owned(),
        )
    }
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a
/// name of at most 63 characters.
pub fn qualified_name_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(prefix) = prefix
        && let Some(problem) = dns_subdomain_problem(prefix)
    {
        return Some(format!("prefix {prefix:?} {problem}"));
    }
    if name.is_empty() {
        return Some("name part must not be empty".to_owned());
    }
    if name.len() > MAX_LABEL_VALUE {
        return Some(format!("name part must be at most {MAX_LABEL_VALUE} characters"));
    }
    name_part_problem(name).map(|p| format!("name part {p}"))
}

/// An RFC 1123 label: lower-case letters, digits and '-', at most 63 characters,
/// beginning and ending with a letter or digit (namespaces, container names).
pub fn dns_label_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("must not be empty".to_owned());
    }
    if value.len() > MAX_DNS_LABEL {
        return Some(format!(
            "must be at most {MAX_DNS_LABEL} characters (it has {})",
            value.len()
        ));
    }
    let valid_chars = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let valid_ends = value.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && value.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit());
    if valid_chars && valid_ends {
        None
    } else {
        Some(
            "must consist of lower-case letters, digits and '-', and begin and end with a letter or digit"
                .to_owned(),
        )
    }
}

/// An RFC 1035 label: an RFC 1123 label that begins with a letter (CRD names
/// and versions).
pub fn dns_1035_label_problem(value: &str) -> Option<String> {
    dns_label_problem(value).or_else(|| {
        (!value.starts_with(|c: char| c.is_ascii_lowercase()))
            .then(|| "must begin with a lower-case letter".to_owned())
    })
}

/// An RFC 1123 subdomain: dot-separated labels, at most 253 characters (object names).
pub fn dns_subdomain_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("must not be empty".to_owned());
    }
    if value.len() > MAX_DNS_SUBDOMAIN {
        return Some(format!("must be at most {MAX_DNS_SUBDOMAIN} characters"));
    }
    if value.split('.').any(|part| dns_label_problem(part).is_some()) {
        return Some(
            "must be lower-case letters, digits, '-' and '.', each dot-separated part beginning and ending with a letter or digit"
                .to_owned(),
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values() {
        assert_eq!(label_value_problem(""), None);
        assert_eq!(label_value_problem("v0.1.0"), None);
        assert_eq!(label_value_problem("A_b-c.d"), None);
        assert!(label_value_problem("-x").is_some());
        assert!(label_value_problem("x y").is_some());
        assert!(label_value_problem(&"a".repeat(64)).is_some());
        assert_eq!(label_value_problem(&"a".repeat(63)), None);
    }

    #[test]
    fn qualified_names() {
        assert_eq!(qualified_name_problem("kratix.io/promise-name"), None);
        assert_eq!(qualified_name_problem("app"), None);
        assert!(qualified_name_problem("Kratix.io/x").is_some());
        assert!(qualified_name_problem("kratix.io/").is_some());
        assert!(qualified_name_problem("a/b/c").is_some());
        assert!(qualified_name_problem("bad key").is_some());
    }

    #[test]
    fn dns_names() {
        assert_eq!(dns_label_problem("kratix-platform-system"), None);
        assert!(dns_label_problem("Upper").is_some());
        assert!(dns_label_problem("a.b").is_some());
        assert!(dns_label_problem("").is_some());
        assert_eq!(dns_subdomain_problem("redis.marketplace.kratix.io"), None);
        assert!(dns_subdomain_problem("a..b").is_some());
        assert_eq!(dns_1035_label_problem("v1alpha1"), None);
        assert!(dns_1035_label_problem("1abc").is_some());
    }
}
