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

/// What the last word is: known now, or names the cluster holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    Known(Vec<String>, u8),
    /// A Promise's name (the first argument of a `workflows` command).
    Promises,
    /// A request of this Promise (their second argument), in this namespace (or the context's).
    Requests {
        promise: String,
        namespace: Option<String>,
    },
}

/// Whether `word` is a flag of `command` that takes a value in the next word.
fn takes_value(command: &clap::Command, word: &str) -> bool {
    if word.contains('=') {
        return false;
    }
    let matches = |a: &clap::Arg| a.get_action().takes_values();
    if let Some(long) = word.strip_prefix("--") {
        return command
            .get_arguments()
            .any(|a| a.get_long() == Some(long) && matches(a));
    }
    let mut short = word.strip_prefix('-').unwrap_or_default().chars();
    match (short.next(), short.next()) {
        (Some(c), None) => command
            .get_arguments()
            .any(|a| a.get_short() == Some(c) && matches(a)),
        _ => false,
    }
}

/// The command the words name (`workflows logs`), as clap knows it.
fn leaf<'c>(root: &'c clap::Command, done: &[String]) -> &'c clap::Command {
    let mut command = root;
    for word in done.iter().filter(|w| !w.starts_with('-')) {
        match command.find_subcommand(word) {
            Some(sub) => command = sub,
            None => break,
        }
    }
    command
}

/// The positional words after `workflows <command>`, and `-n`'s value.
fn workflow_arguments<'w>(command: &clap::Command, done: &'w [String]) -> (Vec<&'w str>, Option<String>) {
    let mut positionals = Vec::new();
    let mut namespace = None;
    let mut iter = done.iter().skip(2);
    while let Some(word) = iter.next() {
        match word.as_str() {
            "-n" | "--namespace" => namespace = iter.next().cloned(),
            w if w.starts_with("--namespace=") => namespace = w.split_once('=').map(|(_, v)| v.to_owned()),
            w if takes_value(command, w) => {
                iter.next();
            }
            w if w.starts_with('-') => {}
            w => positionals.push(w),
        }
    }
    (positionals, namespace)
}

/// What to offer for the last of `words`: static candidates, or names to ask the cluster for.
pub fn wanted(words: &[String]) -> Wanted {
    let (known, directive) = candidates(words);
    let done = &words[..words.len().saturating_sub(1)];
    let in_workflows = done.first().map(String::as_str) == Some("workflows") && done.len() >= 2;
    let current = words.last().map(String::as_str).unwrap_or_default();
    if !in_workflows || current.starts_with('-') || directive == DIRECTIVE_NO_FILES && !known.is_empty() {
        return Wanted::Known(known, directive);
    }
    let root = Cli::command();
    let command = leaf(&root, done);
    // A flag's value: nothing to offer.
    if done.last().is_some_and(|w| takes_value(command, w)) {
        return Wanted::Known(Vec::new(), DIRECTIVE_NO_FILES);
    }
    let (positionals, namespace) = workflow_arguments(command, done);
    match positionals.as_slice() {
        [] => Wanted::Promises,
        [promise] => Wanted::Requests {
            promise: (*promise).to_owned(),
            namespace,
        },
        _ => Wanted::Known(Vec::new(), DIRECTIVE_NO_FILES),
    }
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

/// The connection flags among the words typed so far (`--kubeconfig P`,
/// `--context C`, either also as `--flag=value`).
fn connection(words: &[String]) -> crate::cluster::ClusterArgs {
    let mut args = crate::cluster::ClusterArgs::default();
    let mut iter = words.iter();
    while let Some(word) = iter.next() {
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (word.as_str(), None),
        };
        let mut value = || inline.clone().or_else(|| iter.next().cloned());
        match flag {
            "--kubeconfig" => args.kubeconfig = value().map(Into::into),
            "--context" => args.context = value(),
            _ => {}
        }
    }
    args
}

/// Names from the cluster the kubeconfig points at; none when it cannot be
/// asked within two seconds (completion must never hang a shell).
fn from_cluster(wanted: &Wanted, words: &[String]) -> Vec<String> {
    let wanted = wanted.clone();
    let words = words.to_vec();
    let ask = async move {
        let wanted = &wanted;
        let words = words.as_slice();
        let cluster = connection(words).connect().await.ok()?;
        match wanted {
            Wanted::Promises => {
                let promises = crate::cluster::kratix_objects::promises(&cluster, None)
                    .await
                    .ok()?;
                Some(promises.into_iter().map(|p| p.name).collect())
            }
            Wanted::Requests { promise, namespace } => {
                let promise = crate::cluster::kratix_objects::promise(&cluster, promise)
                    .await
                    .ok()?;
                let namespace =
                    crate::cluster::kratix_objects::namespace_or_default(&cluster, namespace.as_deref());
                let namespaces = crate::cluster::kratix_objects::Namespaces::One(namespace);
                let requests =
                    crate::cluster::kratix_objects::requests(&cluster, &promise, &namespaces, None)
                        .await
                        .ok()?;
                Some(requests.into_iter().map(|r| r.name).collect())
            }
            Wanted::Known(..) => None,
        }
    };
    // On a thread of its own: a credential plugin runs as a blocking child
    // process that no async timeout interrupts (a login waiting for a browser).
    // The thread is left behind when time is up; the process ends right after.
    let (sender, receiver) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("completion".to_owned())
        .spawn(move || {
            let names = crate::cluster::runtime()
                .ok()
                .and_then(|runtime| runtime.block_on(ask));
            let _ = sender.send(names);
        });
    if spawned.is_err() {
        return Vec::new();
    }
    receiver
        .recv_timeout(std::time::Duration::from_secs(2))
        .ok()
        .flatten()
        .unwrap_or_default()
}

pub fn complete(words: &[String]) -> Result<ExitCode> {
    let (candidates, directive) = match wanted(words) {
        Wanted::Known(candidates, directive) => (candidates, directive),
        other => {
            let current = words.last().map(String::as_str).unwrap_or_default();
            let names = from_cluster(&other, &words[..words.len().saturating_sub(1)])
                .into_iter()
                .filter(|n| n.starts_with(current))
                .collect();
            (names, DIRECTIVE_NO_FILES)
        }
    };
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

    #[test]
    fn workflow_arguments_are_names_from_the_cluster() {
        assert_eq!(wanted(&words(&["workflows", "logs", ""])), Wanted::Promises);
        assert_eq!(
            wanted(&words(&["workflows", "status", "-A", "re"])),
            Wanted::Promises
        );
        assert_eq!(
            wanted(&words(&["workflows", "trigger", "redis", "-n", "team-a", ""])),
            Wanted::Requests {
                promise: "redis".to_owned(),
                namespace: Some("team-a".to_owned())
            }
        );
        assert_eq!(
            wanted(&words(&["workflows", "logs", "redis", "cache", ""])),
            Wanted::Known(Vec::new(), DIRECTIVE_NO_FILES)
        );
        assert_eq!(
            wanted(&words(&["workflows", "logs", "--since", ""])),
            Wanted::Known(Vec::new(), DIRECTIVE_NO_FILES)
        );
        assert_eq!(
            wanted(&words(&["workflows", "trigger", "--wait", ""])),
            Wanted::Promises,
            "--wait takes no value"
        );
        assert_eq!(
            wanted(&words(&[
                "workflows",
                "status",
                "--context",
                "prod",
                "-o",
                "wide",
                ""
            ])),
            Wanted::Promises,
            "flag values are not arguments"
        );
        let Wanted::Known(flags, _) = wanted(&words(&["workflows", "logs", "--fol"])) else {
            panic!("flags are known")
        };
        assert_eq!(flags, ["--follow"]);
        let Wanted::Known(subcommands, _) = wanted(&words(&["workflows", ""])) else {
            panic!("subcommands are known")
        };
        assert!(
            subcommands.iter().any(|c| c.starts_with("status\t")),
            "{subcommands:?}"
        );
        let flags = connection(&words(&[
            "workflows",
            "logs",
            "--context",
            "prod",
            "--kubeconfig=/k",
        ]));
        assert_eq!(flags.context.as_deref(), Some("prod"));
        assert_eq!(flags.kubeconfig.as_deref(), Some(std::path::Path::new("/k")));
    }
}
