//! Text fields from clients, parsed the same way by every service: trimmed, bounded in
//! characters, and free of control characters.
//!
//! Control characters are refused because none of our fields has a use for them and one of them
//! breaks storage: PostgreSQL refuses NUL in `text`, so a `\0` that got through answered 500
//! instead of 400. Free text (descriptions, notes, addresses) may span lines.

use crate::InvalidField;

/// What a field may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TextRule {
    /// At most this many characters (after trimming).
    pub max_chars: usize,
    /// Line breaks and tabs are allowed (descriptions, notes); otherwise one line.
    pub multiline: bool,
}

impl TextRule {
    /// One line of any length: a field whose length the contract bounds (`buf.validate` in
    /// `proto/`, checked as a request is decoded), so the domain checks only what it holds.
    pub const LINE: Self = Self::line(usize::MAX);

    /// Free text of any length, bounded by the contract like [`Self::LINE`].
    pub const FREE: Self = Self::free(usize::MAX);

    /// One line of at most `max_chars` characters: names, ids, categories.
    pub const fn line(max_chars: usize) -> Self {
        Self {
            max_chars,
            multiline: false,
        }
    }

    /// Free text of at most `max_chars` characters.
    pub const fn free(max_chars: usize) -> Self {
        Self {
            max_chars,
            multiline: true,
        }
    }

    /// The trimmed value, possibly empty.
    pub fn parse(self, field: &str, raw: &str) -> Result<String, InvalidField> {
        let value = raw.trim();
        self.check(field, value)?;
        Ok(value.to_owned())
    }

    /// Whether `value`, as it is (untrimmed), keeps the rule: what the gateway's edge asks of
    /// every string a client sends before any field rule runs.
    pub fn check(self, field: &str, value: &str) -> Result<(), InvalidField> {
        let allowed = |c: char| self.multiline && matches!(c, '\n' | '\r' | '\t');
        let mut chars = 0;
        for c in value.chars() {
            chars += 1;
            if chars > self.max_chars {
                return Err(InvalidField::new(
                    field.to_owned(),
                    format!("must be at most {} characters", self.max_chars),
                ));
            }
            if c.is_control() && !allowed(c) {
                return Err(InvalidField::new(
                    field.to_owned(),
                    "must not contain control characters",
                ));
            }
        }
        Ok(())
    }

    /// The trimmed value; an empty one is "is required".
    pub fn required(self, field: &str, raw: &str) -> Result<String, InvalidField> {
        let value = self.parse(field, raw)?;
        if value.is_empty() {
            return Err(InvalidField::new(field.to_owned(), "is required"));
        }
        Ok(value)
    }

    /// The trimmed value; absent or blank is `None`.
    pub fn optional(self, field: &str, raw: Option<&str>) -> Result<Option<String>, InvalidField> {
        match raw {
            None => Ok(None),
            Some(raw) => Ok(Some(self.parse(field, raw)?).filter(|value| !value.is_empty())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds_by_characters() {
        assert_eq!(TextRule::line(3).parse("name", "  abc "), Ok("abc".into()));
        assert_eq!(TextRule::line(3).parse("name", "ééé"), Ok("ééé".into()));
        let err = TextRule::line(3).parse("name", "abcd").unwrap_err();
        assert_eq!(err.to_string(), "name: must be at most 3 characters");
    }

    #[test]
    fn refuses_nul_and_other_control_characters() {
        for raw in ["a\0b", "a\u{7}b", "a\nb"] {
            let err = TextRule::line(10).parse("title", raw).unwrap_err();
            assert_eq!(
                err.to_string(),
                "title: must not contain control characters"
            );
        }
        let err = TextRule::free(10).parse("note", "a\0b").unwrap_err();
        assert_eq!(err.to_string(), "note: must not contain control characters");
    }

    #[test]
    fn free_text_may_span_lines() {
        assert_eq!(
            TextRule::free(10).parse("note", "a\r\n\tb"),
            Ok("a\r\n\tb".into())
        );
    }

    #[test]
    fn required_and_optional_treat_blank_as_absent() {
        let err = TextRule::line(5).required("title", "  ").unwrap_err();
        assert_eq!(err.to_string(), "title: is required");
        assert_eq!(TextRule::line(5).optional("courier", Some(" ")), Ok(None));
        assert_eq!(TextRule::line(5).optional("courier", None), Ok(None));
        assert_eq!(
            TextRule::line(5).optional("courier", Some(" Ana ")),
            Ok(Some("Ana".into()))
        );
    }
}
