//! Drawing for the terminal: kubectl-style tables, ages and colours
//! (`table`), objects as YAML streams or `v1` Lists (`output`), pipeline
//! log lines with their `pipeline › container` prefixes (`log_lines`), and a
//! Promise's requests with their components as a tree (`request_tree`).

pub mod log_lines;
pub mod output;
pub mod request_tree;
pub mod table;
