//! The user's preferences: `config.toml` in the platform's config directory
//! (`~/.config/kubectl-kratix/` on Linux, `~/Library/Application Support/kubectl-kratix/`
//! on macOS, `%APPDATA%\kubectl-kratix\config\` on Windows), or the file
//! `KUBECTL_KRATIX_CONFIG` names. Flags win over the file; `NO_COLOR` wins over both.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use crate::cli::{ColorChoice, ReportFormat};

pub const CONFIG_ENV: &str = "KUBECTL_KRATIX_CONFIG";

/// What `config.toml` may hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// The default `-o` of `workflows status` and `workflows service-accounts`.
    pub output: Option<ReportFormat>,
    /// `auto` (on a terminal), `always` or `never`.
    pub color: Option<ColorChoice>,
}

/// Where the preferences are read from.
pub fn path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(CONFIG_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    directories::ProjectDirs::from("", "", "kubectl-kratix").map(|d| d.config_dir().join("config.toml"))
}

/// The preferences; none when the file does not exist.
pub fn load() -> Result<Preferences> {
    let Some(path) = path() else {
        return Ok(Preferences::default());
    };
    load_from(&path)
}

pub fn load_from(path: &Path) -> Result<Preferences> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if std::env::var_os(CONFIG_ENV).is_some_and(|p| Path::new(&p) == path) {
                bail!("{CONFIG_ENV} names {}, which does not exist", path.display());
            }
            return Ok(Preferences::default());
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: {}; it may set output = \"table\"|\"wide\"|\"json\"|\"yaml\" and color = \"auto\"|\"always\"|\"never\"",
            path.display(),
            e.to_string().trim_end()
        )
    })
}

/// Whether to colour what goes to a stream: the flag, else the file, else
/// `auto`; `NO_COLOR` (set and not empty) turns `auto` and the file's `always` off.
pub fn colour(flag: Option<ColorChoice>, preferences: &Preferences, is_terminal: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    decide_colour(flag, preferences.color, no_color, is_terminal)
}

fn decide_colour(
    flag: Option<ColorChoice>,
    file: Option<ColorChoice>,
    no_color: bool,
    is_terminal: bool,
) -> bool {
    match flag {
        Some(ColorChoice::Always) => true,
        Some(ColorChoice::Never) => false,
        Some(ColorChoice::Auto) => !no_color && is_terminal,
        None => match file {
            Some(ColorChoice::Never) => false,
            _ if no_color => false,
            Some(ColorChoice::Always) => true,
            _ => is_terminal,
        },
    }
}

/// Colour for standard output.
pub fn stdout_colour(flag: Option<ColorChoice>, preferences: &Preferences) -> bool {
    colour(flag, preferences, std::io::stdout().is_terminal())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_sets_output_and_colour_and_refuses_unknown_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "output = \"wide\"\ncolor = \"never\"\n").expect("write");
        let preferences = load_from(&path).expect("loads");
        assert_eq!(preferences.output, Some(ReportFormat::Wide));
        assert_eq!(preferences.color, Some(ColorChoice::Never));

        std::fs::write(&path, "colour = \"never\"\n").expect("write");
        let error = load_from(&path).expect_err("unknown key").to_string();
        assert!(error.contains("config.toml"), "{error}");
        assert!(error.contains("colour"), "{error}");

        std::fs::write(&path, "output = \"xml\"\n").expect("write");
        let error = load_from(&path).expect_err("bad value").to_string();
        assert!(error.contains("xml"), "{error}");
    }

    #[test]
    fn a_missing_file_is_no_preferences() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            load_from(&dir.path().join("none.toml")).expect("none"),
            Preferences::default()
        );
    }

    #[test]
    fn no_color_wins_over_auto_and_the_file_but_not_the_flag() {
        use ColorChoice::*;
        assert!(decide_colour(None, None, false, true));
        assert!(!decide_colour(None, None, true, true));
        assert!(!decide_colour(None, None, false, false));
        assert!(!decide_colour(None, Some(Always), true, true));
        assert!(decide_colour(None, Some(Always), false, false));
        assert!(decide_colour(Some(Always), Some(Never), true, false));
        assert!(!decide_colour(Some(Auto), None, true, true));
    }
}
