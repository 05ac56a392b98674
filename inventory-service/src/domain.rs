//! The catalog's rules: what a valid movie, id and title search are. No I/O, no wire types.

use mesh_kit::{InvalidField, text::TextRule};

/// A movie as the catalog holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Movie {
    pub id: i64,
    pub title: String,
    pub description: String,
}

/// A movie id: a positive integer (the contract's rule on every request that names one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MovieId(i64);

impl MovieId {
    pub fn new(id: i64) -> Self {
        Self(id)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for MovieId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Required and trimmed; its length is the contract's rule (`proto/inventory.proto`), as is
/// the description's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        TextRule::LINE.required("title", raw).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Required and trimmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        TextRule::FREE.required("description", raw).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A new movie: both fields required.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMovie {
    pub title: Title,
    pub description: Description,
}

/// A partial update; at least one field is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MoviePatch {
    title: Option<Title>,
    description: Option<Description>,
}

impl MoviePatch {
    pub fn parse(title: Option<&str>, description: Option<&str>) -> Result<Self, InvalidField> {
        if title.is_none() && description.is_none() {
            return Err(InvalidField::new(
                "title",
                "give a title, a description or both",
            ));
        }
        Ok(Self {
            title: title.map(Title::parse).transpose()?,
            description: description.map(Description::parse).transpose()?,
        })
    }

    pub fn into_parts(self) -> (Option<String>, Option<String>) {
        (
            self.title.map(Title::into_inner),
            self.description.map(Description::into_inner),
        )
    }
}

/// The `?title=` search as a `LIKE` pattern: the text is matched literally anywhere in the
/// title, so `%` and `_` typed by a user are not wildcards. `None` means no filter.
pub fn title_pattern(search: &str) -> Result<Option<String>, InvalidField> {
    let search = TextRule::LINE.parse("title", search)?;
    if search.is_empty() {
        return Ok(None);
    }
    let mut pattern = String::with_capacity(search.len() + 2);
    pattern.push('%');
    for c in search.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    Ok(Some(pattern))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_and_description_are_required() {
        assert_eq!(
            Title::parse("").expect_err("empty").to_string(),
            "title: is required"
        );
        assert_eq!(
            Description::parse("  ").expect_err("blank").field,
            "description"
        );
        assert_eq!(
            Title::parse(" Inception ").map(Title::into_inner),
            Ok("Inception".into())
        );
    }

    #[test]
    fn a_patch_needs_at_least_one_field() {
        assert!(MoviePatch::parse(None, None).is_err());
        assert!(MoviePatch::parse(Some("Heat"), None).is_ok());
        assert!(MoviePatch::parse(None, Some("")).is_err());
    }

    #[test]
    fn search_text_is_literal() {
        assert_eq!(title_pattern(""), Ok(None));
        assert_eq!(title_pattern("incep"), Ok(Some("%incep%".into())));
        assert_eq!(title_pattern("100%_"), Ok(Some("%100\\%\\_%".into())));
        assert_eq!(
            title_pattern("a\0b").map_err(|err| err.to_string()),
            Err("title: must not contain control characters".into())
        );
    }
}
