//! Resource requests: one controller per Promise API (`controller`), a request
//! as it sees one (`request`), and its delete flow (`delete`).

pub mod controller;
pub mod delete;
pub mod request;
