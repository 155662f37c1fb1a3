//! Drawing for the terminal: kubectl-style tables, ages and colours
//! (`table`), and objects as YAML streams or `v1` Lists (`output`).

pub mod output;
pub mod table;
