//! Object-name rules of the contract: truncation, random and
//! deterministic suffixes.

use md5::{Digest, Md5};

/// Longest name kept whole; longer names are cut to [`TRUNCATED_LENGTH`].
const MAX_UNTRUNCATED: usize = 57;
const TRUNCATED_LENGTH: usize = 56;

/// Lower-case hex md5 of `input`.
pub fn md5_hex(input: &[u8]) -> String {
    let digest = Md5::digest(input);
    let mut out = String::with_capacity(32);
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Cuts a name longer than 57 characters to its first 56, then strips trailing
/// characters that are not ASCII letters or digits, so that a suffix can follow.
pub fn process_name(name: &str) -> String {
    let mut processed: String = if name.chars().count() > MAX_UNTRUNCATED {
        name.chars().take(TRUNCATED_LENGTH).collect()
    } else {
        name.to_owned()
    };
    while processed
        .chars()
        .last()
        .is_some_and(|c| !c.is_ascii_alphanumeric())
    {
        processed.pop();
    }
    processed
}

/// `process_name(name)-<suffix>`, where the suffix is given (random in the agent,
/// chosen by the user for reproducible renders).
pub fn name_with_suffix(name: &str, suffix: &str) -> String {
    format!("{}-{suffix}", process_name(name))
}

/// A name with a random 5-character suffix (the first characters of a fresh UUID).
pub fn random_object_name(name: &str) -> String {
    name_with_suffix(name, &random_suffix())
}

/// Five random lower-case hex characters.
pub fn random_suffix() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..5].to_owned()
}

/// `process_name(name)-<first 5 hex of md5(inputs joined by "-", or name)>`.
pub fn deterministic_object_name(name: &str, inputs: &[&str]) -> String {
    let hashed = if inputs.is_empty() {
        name.to_owned()
    } else {
        inputs.join("-")
    };
    format!("{}-{}", process_name(name), &md5_hex(hashed.as_bytes())[..5])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_dot_is_the_default_workload_group_id() {
        assert_eq!(md5_hex(b"."), "5058f1af8388633f609cadb75a75dc9d");
    }

    #[test]
    fn short_names_are_kept() {
        assert_eq!(process_name("kratix-redis-configure"), "kratix-redis-configure");
    }

    #[test]
    fn trailing_non_alphanumerics_are_stripped() {
        assert_eq!(process_name("abc-.-"), "abc");
    }

    #[test]
    fn names_over_57_are_cut_to_56() {
        let exactly_57 = "a".repeat(57);
        assert_eq!(process_name(&exactly_57), exactly_57);
        let long = format!("{}-{}", "b".repeat(55), "c".repeat(10));
        // First 56 characters are 55 b's and '-', which is then stripped.
        assert_eq!(process_name(&long), "b".repeat(55));
    }

    #[test]
    fn deterministic_names_hash_the_name_without_inputs() {
        // md5("redis-resource-configure-instance") computed independently with md5sum.
        let name = deterministic_object_name("redis-resource-configure-instance", &[]);
        assert_eq!(name, "redis-resource-configure-instance-bd900");
    }

    #[test]
    fn deterministic_names_hash_the_joined_inputs() {
        // md5("a-b") = 8ca2ed59... (md5sum of the inputs joined by a dash).
        assert_eq!(deterministic_object_name("x", &["a", "b"]), "x-8ca2e");
    }

    #[test]
    fn random_suffixes_are_five_hex_characters() {
        let suffix = random_suffix();
        assert_eq!(suffix.len(), 5);
        assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
