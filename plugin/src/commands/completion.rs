//! Shell completion: scripts for `kubectl-kratix` run directly (clap_complete),
//! and the answers kubectl's plugin completion asks `kubectl_complete-kratix` for
//! (cobra's protocol: one candidate per line, then `:DIRECTIVE`).

use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionShell};

/// Cobra's directives: complete file names as the shell would, or none at all.
const DIRECTIVE_DEFAULT: u8 = 0;
const DIRECTIVE_NO_FILES: u8 = 4;

pub fn script(shell: CompletionShell) -> Result<ExitCode> {
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "kubectl-kratix", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// The candidates for the last of `words` (the words after `kratix`, the last
/// possibly empty), and the directive.
pub fn candidates(words: &[String]) -> (Vec<String>, u8) {
    let root = Cli::command();
    let (current, done) = words
        .split_last()
        .map_or(("", &[][..]), |(last, rest)| (last.as_str(), rest));
    let mut command = &root;
    let mut skip_value = false;
    for word in done {
        if skip_value {
            skip_value = false;
            continue;
        }
        if let Some(flag) = word.strip_prefix("--") {
            // A flag that takes a value, given without `=`, swallows the next word.
            skip_value = !flag.contains('=')
                && command
                    .get_arguments()
                    .any(|a| a.get_long() == Some(flag) && a.get_action().takes_values());
            continue;
        }
        if word.starts_with('-') {
            continue;
        }
        if let Some(sub) = command.find_subcommand(word) {
            command = sub;
        }
    }
    if skip_value {
        // Completing a flag's value: file names are as good a guess as any.
        return (Vec::new(), DIRECTIVE_DEFAULT);
    }
    if current.starts_with('-') {
        let flags = command
            .get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long())
            .map(|long| format!("--{long}"))
            .chain(["--help".to_owned()])
            .filter(|flag| flag.starts_with(current))
            .collect();
        return (flags, DIRECTIVE_NO_FILES);
    }
    let subcommands: Vec<String> = command
        .get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name().starts_with(current))
        .map(|c| match c.get_about() {
            Some(about) => format!("{}\t{}", c.get_name(), about),
            None => c.get_name().to_owned(),
        })
        .collect();
    if command.has_subcommands() {
        (subcommands, DIRECTIVE_NO_FILES)
    } else {
        // Positional arguments here are paths (Promise files and directories).
        (Vec::new(), DIRECTIVE_DEFAULT)
    }
}

pub fn complete(words: &[String]) -> Result<ExitCode> {
    let (candidates, directive) = candidates(words);
    for candidate in candidates {
        println!("{candidate}");
    }
    println!(":{directive}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &[&str]) -> Vec<String> {
        text.iter().map(|w| (*w).to_owned()).collect()
    }

    #[test]
    fn subcommands_then_flags_then_files() {
        let (top, directive) = candidates(&words(&[""]));
        assert!(top.iter().any(|c| c.starts_with("promise\t")), "{top:?}");
        assert!(!top.iter().any(|c| c.starts_with("__complete")), "hidden");
        assert_eq!(directive, DIRECTIVE_NO_FILES);
        let (promise, _) = candidates(&words(&["promise", "in"]));
        assert_eq!(promise.len(), 1);
        assert!(promise[0].starts_with("init\t"), "{promise:?}");
        let (flags, directive) = candidates(&words(&["promise", "init", "redis", "--gr"]));
        assert_eq!(
            (flags, directive),
            (vec!["--group".to_owned()], DIRECTIVE_NO_FILES)
        );
        let (files, directive) = candidates(&words(&["promise", "validate", ""]));
        assert_eq!((files.len(), directive), (0, DIRECTIVE_DEFAULT));
        let (value, directive) = candidates(&words(&["promise", "init", "--dir", ""]));
        assert_eq!((value.len(), directive), (0, DIRECTIVE_DEFAULT));
    }
}
