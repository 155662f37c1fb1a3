//! Reading and writing the formats Kratix objects come in: typed decoding that
//! reports every problem at once, YAML streams with line and column, the API
//! server's schema defaulting, a Work's compressed content, Go durations.

pub mod compression;
pub mod decode;
pub mod defaulting;
pub mod duration;
pub mod yaml;
