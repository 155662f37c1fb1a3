//! What the status rules' unit tests share: reading a condition back and
//! building a status from JSON.

use serde_json::{Map, Value};

/// The condition of `type_` in the status, when there is one.
pub fn condition<'a>(status: &'a Map<String, Value>, type_: &str) -> Option<&'a Value> {
    status
        .get("conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// What the condition of `type_` says: status, reason, message.
pub fn said(status: &Map<String, Value>, type_: &str) -> (String, String, String) {
    let c = condition(status, type_).unwrap_or_else(|| panic!("no {type_} in {status:?}"));
    let text = |key: &str| c[key].as_str().unwrap_or_default().to_owned();
    (text("status"), text("reason"), text("message"))
}

/// The words a condition is expected to say.
pub fn words(status: &str, reason: &str, message: &str) -> (String, String, String) {
    (status.to_owned(), reason.to_owned(), message.to_owned())
}

/// A status from a JSON mapping.
pub fn status(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("a mapping")
}
