//! Drawing for the terminal: kubectl-style tables, ages and colours
//! (`table`), objects as YAML streams or `v1` Lists (`output`), and pipeline
//! log lines with their `pipeline › container` prefixes (`log_lines`).

pub mod log_lines;
pub mod output;
pub mod table;
