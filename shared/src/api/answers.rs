//! How the API server answered, read by status code as the Go client falls
//! back to doing: a 404 from a path the server does not serve (an API whose
//! CRD is gone) carries no reason, only its code. (kube's own `Status`
//! helpers read the reason alone, and miss those.)

/// The API server's refusal, when the error is one.
fn answer(error: &kube::Error) -> Option<&kube::core::Status> {
    match error {
        kube::Error::Api(status) => Some(status),
        _ => None,
    }
}

/// The object (or the API serving it) is not there.
pub fn is_not_found(error: &kube::Error) -> bool {
    answer(error).is_some_and(|s| s.code == 404)
}

/// An update lost a race with another writer, or a create found the name
/// taken (both are 409; the reason tells them apart where it matters).
pub fn is_conflict(error: &kube::Error) -> bool {
    answer(error).is_some_and(|s| s.code == 409)
}

/// A create found an object of that name already there.
pub fn is_already_exists(error: &kube::Error) -> bool {
    answer(error).is_some_and(|s| s.code == 409 && s.reason != "Conflict")
}

/// A delete or read of something already gone is a success: `Ok(None)`.
pub fn ignore_missing<T>(result: Result<T, kube::Error>) -> Result<Option<T>, kube::Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(error) if is_not_found(&error) => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("refused", reason)
                .with_code(code)
                .boxed(),
        )
    }

    #[test]
    fn answers_are_read_by_their_code() {
        assert!(is_not_found(&refusal(404, "NotFound")));
        // A path the server does not serve: no Status, no reason.
        assert!(is_not_found(&refusal(404, "")));
        assert!(!is_not_found(&refusal(409, "Conflict")));
        assert!(is_conflict(&refusal(409, "Conflict")));
        assert!(is_conflict(&refusal(409, "AlreadyExists")));
        assert!(is_already_exists(&refusal(409, "AlreadyExists")));
        assert!(!is_already_exists(&refusal(409, "Conflict")));
        assert!(!is_not_found(&kube::Error::LinesCodecMaxLineLengthExceeded));
    }

    #[test]
    fn only_a_missing_object_is_ignored() {
        assert_eq!(
            ignore_missing::<u8>(Err(refusal(404, ""))).expect("ignored"),
            None
        );
        assert_eq!(ignore_missing(Ok::<u8, kube::Error>(1)).expect("kept"), Some(1));
        assert!(ignore_missing::<u8>(Err(refusal(500, "InternalError"))).is_err());
    }
}
