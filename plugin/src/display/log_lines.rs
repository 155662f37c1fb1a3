//! Log lines as `workflows logs` and `promise run` print them: each prefixed
//! with a coloured `pipeline › container` whose colours come from the names
//! (so they are the same on every run), as stern prints them; `+`/`-` markers
//! for a container starting or not running go to stderr.

use std::io::Write as _;

/// Prefixes and colours, and where the lines go.
pub struct LogPrinter {
    colour: bool,
    /// Lines to stderr: stdout carries a machine-readable result.
    to_stderr: bool,
}

/// stern's palette: bright cyan, green, magenta, yellow, blue, red.
const PALETTE: [u8; 6] = [96, 92, 95, 93, 94, 91];

/// FNV-1a: the same name always gets the same colour.
fn colour_of(name: &str) -> u8 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    PALETTE[(hash % PALETTE.len() as u32) as usize]
}

impl LogPrinter {
    pub fn to_stdout(colour: bool) -> Self {
        LogPrinter {
            colour,
            to_stderr: false,
        }
    }

    pub fn to_stderr(colour: bool) -> Self {
        LogPrinter {
            colour,
            to_stderr: true,
        }
    }

    pub fn prefix(&self, pipeline: &str, container: &str) -> String {
        if self.colour {
            format!(
                "\x1b[{}m{pipeline}\x1b[0m › \x1b[{}m{container}\x1b[0m",
                colour_of(pipeline),
                colour_of(container)
            )
        } else {
            format!("{pipeline} › {container}")
        }
    }

    /// One line; a closed output (`| head`) is the caller's to handle.
    pub fn line(&self, pipeline: &str, container: &str, line: &str) -> std::io::Result<()> {
        let text = format!("{} {line}", self.prefix(pipeline, container));
        if self.to_stderr {
            writeln!(std::io::stderr().lock(), "{text}")
        } else {
            writeln!(std::io::stdout().lock(), "{text}")
        }
    }

    /// `+ pipeline › container (pod)` and the like, to stderr.
    pub fn marker(&self, sign: char, pipeline: &str, container: &str, pod: &str, note: &str) {
        let note = if note.is_empty() {
            String::new()
        } else {
            format!(": {note}")
        };
        eprintln!("{sign} {} ({pod}){note}", self.prefix(pipeline, container));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn a_name_keeps_its_colour() {
        assert_eq!(colour_of("instance"), colour_of("instance"));
        let colours: HashSet<u8> = ["reader", "work-writer", "status-writer", "a", "b", "c"]
            .iter()
            .map(|n| colour_of(n))
            .collect();
        assert!(colours.len() > 1, "names spread over the palette");
    }

    #[test]
    fn prefixes_without_colour_are_plain() {
        let printer = LogPrinter::to_stdout(false);
        assert_eq!(printer.prefix("instance", "reader"), "instance › reader");
        let coloured = LogPrinter::to_stdout(true).prefix("instance", "reader");
        assert!(coloured.contains("\x1b["), "{coloured}");
    }
}
