//! The one refusal of a client's input: which field, and why.

use std::borrow::Cow;

/// A request field that does not parse. Always `INVALID_ARGUMENT` (or a 400), naming the field
/// (`price_cents`, or `items[2].quantity` for an element of a list).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidField {
    pub field: Cow<'static, str>,
    pub reason: String,
}

impl InvalidField {
    pub fn new(field: impl Into<Cow<'static, str>>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[cfg(feature = "tonic")]
impl From<InvalidField> for tonic::Status {
    fn from(err: InvalidField) -> Self {
        tonic::Status::invalid_argument(err.to_string())
    }
}
