//! Tables as kubectl prints them (upper-case headers, no borders), fitted to
//! the terminal's width by comfy-table, with optional colour; and kubectl's
//! ages and durations.

use comfy_table::presets::NOTHING;
use comfy_table::{Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table};
use k8s_openapi::jiff::Timestamp;

/// Columns that wrap when the table is wider than the terminal.
const WRAPPING: [&str; 9] = [
    "JOB",
    "POD",
    "OUTPUTS",
    "MESSAGE",
    "RULES",
    "PATH",
    "ALLOWED BY",
    "SOURCE",
    "SERVICE ACCOUNT",
];

/// A table with these headers, fitted to the terminal; `colour` turns styling on.
pub fn new(headers: &[&str], colour: bool) -> Table {
    build(headers, colour, true)
}

/// A table that keeps its width, as kubectl's `-o wide` does.
pub fn wide(headers: &[&str], colour: bool) -> Table {
    build(headers, colour, false)
}

fn build(headers: &[&str], colour: bool, fit: bool) -> Table {
    let mut table = Table::new();
    table
        .load_style(NOTHING)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(headers.iter().map(Cell::new));
    if colour {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    // Without a terminal nothing is wrapped: scripts get whole lines.
    if !fit || !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        table.set_content_arrangement(ContentArrangement::Disabled);
    }
    for (column, header) in table.column_iter_mut().zip(headers) {
        column.set_padding((0, 3));
        // Short columns keep their width; the long ones wrap to fit the terminal.
        if !WRAPPING.contains(header) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    if let Some(last) = table.column_iter_mut().last() {
        last.set_padding((0, 0));
    }
    table
}

/// The table as text without trailing spaces, ending in a newline.
pub fn render(table: &Table) -> String {
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A pipeline phase, coloured by what it means.
pub fn phase_cell(phase: &str, colour: bool) -> Cell {
    let cell = Cell::new(phase);
    if !colour {
        return cell;
    }
    match phase {
        "Succeeded" | "True" => cell.fg(Color::Green),
        "Failed" | "False" => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        "Running" => cell.fg(Color::Yellow),
        "Suspended" | "Pending" | "Unknown" => cell.fg(Color::Cyan),
        _ => cell,
    }
}

/// kubectl's age: `45s`, `12m`, `3h4m`, `5d`.
pub fn age(then: &str, now: Timestamp) -> String {
    match then.parse::<Timestamp>() {
        Ok(then) => short_duration(now.duration_since(then).as_secs().max(0)),
        Err(_) => "-".to_owned(),
    }
}

/// Seconds as kubectl writes durations: `7s`, `2m5s`, `3h4m`, `5d2h`.
pub fn short_duration(seconds: i64) -> String {
    let (d, h, m, s) = (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    );
    match seconds {
        0..60 => format!("{s}s"),
        60..600 if s > 0 => format!("{m}m{s}s"),
        60..3600 => format!("{m}m"),
        3600..86_400 if m > 0 => format!("{h}h{m}m"),
        3600..86_400 => format!("{h}h"),
        _ if h > 0 && d < 8 => format!("{d}d{h}h"),
        _ => format!("{d}d"),
    }
}

/// A value or kubectl's `<none>`-style dash.
pub fn or_dash(value: Option<impl ToString>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_kubectls() {
        assert_eq!(short_duration(7), "7s");
        assert_eq!(short_duration(125), "2m5s");
        assert_eq!(short_duration(720), "12m");
        assert_eq!(short_duration(3600 * 3 + 240), "3h4m");
        assert_eq!(short_duration(86_400 * 5 + 7200), "5d2h");
        assert_eq!(short_duration(86_400 * 30), "30d");
    }

    #[test]
    fn tables_have_kubectls_shape() {
        let mut table = new(&["NAME", "PHASE"], false);
        table.add_row(vec!["promise/redis", "Succeeded"]);
        let text = render(&table);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME            PHASE");
        assert_eq!(lines[1], "promise/redis   Succeeded");
    }
}
