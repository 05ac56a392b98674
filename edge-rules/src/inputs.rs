//! One text rule for every string a client sends, checked where every input passes rather than
//! beside each field, so a new field cannot miss it: the URL's path segments and query
//! parameters (percent-decoded) for every route ([`check_url`], from the gateway's edge), every
//! string of a JSON body ([`check_json`], from its `rest::Json`), and every GraphQL argument and
//! variable ([`check_graphql`], from its query limits). A string may hold no control characters (bodies
//! and GraphQL may hold line breaks and tabs) and at most [`MAX_TEXT_CHARS`] characters; the
//! refusal is a 400 naming the field. Each service's own field rules (shorter bounds, one line)
//! still apply after this. Header values never get here with control characters: hyper refuses
//! them while parsing.
//!
//! A NUL once reached PostgreSQL (which refuses it in `text`) from two fields and then from a
//! third that had been missed; here it cannot.

use async_graphql_parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql_value::{ConstValue, Name, Value as GraphqlValue, Variables};
use percent_encoding::percent_decode_str;

use crate::{InvalidField, text::TextRule};

/// The most characters any one string may have at the edge (a body is bounded as a whole too).
pub const MAX_TEXT_CHARS: usize = 10_000;

/// Path segments, parameter names and JSON keys: one line.
const URL_TEXT: TextRule = TextRule::line(MAX_TEXT_CHARS);
/// Parameter values and strings in bodies and GraphQL: line breaks and tabs allowed (notes,
/// descriptions, a GraphQL document in `GET /graphql?query=`). A field that must be one line
/// says so in its own rule, in the service.
const BODY_TEXT: TextRule = TextRule::free(MAX_TEXT_CHARS);

/// Every segment of a URL's `path` and parameter of its `query`, decoded. A parameter is named
/// by its key; a segment as `path`.
pub fn check_url(path: &str, query: Option<&str>) -> Result<(), InvalidField> {
    for segment in path.split('/') {
        let decoded = percent_decode_str(segment)
            .decode_utf8()
            .map_err(|_| InvalidField::new("path", "must be valid UTF-8"))?;
        URL_TEXT.check("path", &decoded)?;
    }
    if let Some(query) = query {
        for raw in query.split('&') {
            // form_urlencoded decodes bytes that are not UTF-8 lossily; refuse them instead.
            let decoded = percent_decode_str(&raw.replace('+', " "))
                .decode_utf8()
                .map(|text| text.into_owned())
                .map_err(|_| InvalidField::new("query", "must be valid UTF-8"))?;
            let (key, value) = decoded.split_once('=').unwrap_or((decoded.as_str(), ""));
            URL_TEXT.check("query parameter name", key)?;
            BODY_TEXT.check(key, value)?;
        }
    }
    Ok(())
}

/// Every string (and object key) of a JSON body; the field is named by its path
/// (`items[0].note`).
pub fn check_json(value: &serde_json::Value) -> Result<(), InvalidField> {
    walk_json(value, &mut String::new())
}

fn walk_json(value: &serde_json::Value, path: &mut String) -> Result<(), InvalidField> {
    match value {
        serde_json::Value::String(text) => BODY_TEXT.check(&field_name(path), text),
        serde_json::Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{index}]"));
                walk_json(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        serde_json::Value::Object(fields) => {
            for (key, item) in fields {
                URL_TEXT.check(&format!("{} (a key)", field_name(path)), key)?;
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                walk_json(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn field_name(path: &str) -> String {
    if path.is_empty() {
        "body".to_owned()
    } else {
        path.to_owned()
    }
}

/// Every string of a GraphQL operation: the variables, and the literal arguments of the
/// document's fields and directives, fragments included.
pub fn check_graphql(
    variables: &Variables,
    document: &ExecutableDocument,
) -> Result<(), InvalidField> {
    for (name, value) in variables.iter() {
        walk_graphql_const(value, &format!("${name}"))?;
    }
    for (name, value) in arguments(document) {
        walk_graphql(value, name.as_str())?;
    }
    Ok(())
}

/// Every argument written in the document, of fields and directives, fragments included.
fn arguments(document: &ExecutableDocument) -> Vec<(&Name, &GraphqlValue)> {
    fn walk<'a>(set: &'a SelectionSet, out: &mut Vec<(&'a Name, &'a GraphqlValue)>) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    out.extend(field.arguments.iter().map(|(n, v)| (&n.node, &v.node)));
                    for directive in &field.directives {
                        let arguments = &directive.node.arguments;
                        out.extend(arguments.iter().map(|(n, v)| (&n.node, &v.node)));
                    }
                    walk(&field.selection_set.node, out);
                }
                Selection::InlineFragment(fragment) => {
                    walk(&fragment.node.selection_set.node, out);
                }
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    let mut out = Vec::new();
    for (_, operation) in document.operations.iter() {
        walk(&operation.node.selection_set.node, &mut out);
    }
    for fragment in document.fragments.values() {
        walk(&fragment.node.selection_set.node, &mut out);
    }
    out
}

fn walk_graphql(value: &GraphqlValue, field: &str) -> Result<(), InvalidField> {
    match value {
        GraphqlValue::String(text) => BODY_TEXT.check(field, text),
        GraphqlValue::List(items) => items.iter().try_for_each(|item| walk_graphql(item, field)),
        GraphqlValue::Object(fields) => fields
            .iter()
            .try_for_each(|(key, item)| walk_graphql(item, &format!("{field}.{key}"))),
        _ => Ok(()),
    }
}

fn walk_graphql_const(value: &ConstValue, field: &str) -> Result<(), InvalidField> {
    match value {
        ConstValue::String(text) => BODY_TEXT.check(field, text),
        ConstValue::List(items) => items
            .iter()
            .try_for_each(|item| walk_graphql_const(item, field)),
        ConstValue::Object(fields) => fields
            .iter()
            .try_for_each(|(key, item)| walk_graphql_const(item, &format!("{field}.{key}"))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri_verdict(uri: &str) -> Result<(), String> {
        let (path, query) = match uri.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (uri, None),
        };
        check_url(path, query).map_err(|err| err.to_string())
    }

    #[test]
    fn a_nul_anywhere_in_the_url_is_refused_naming_where() {
        assert_eq!(
            uri_verdict("/menu/items?category=Soups&page_size=2"),
            Ok(())
        );
        assert_eq!(uri_verdict("/api/movies?title=caf%C3%A9+noir"), Ok(()));
        let refused = uri_verdict("/menu/items?category=a%00b").unwrap_err();
        assert!(refused.starts_with("category:"), "{refused}");
        assert!(
            uri_verdict("/menu/items/a%00b")
                .unwrap_err()
                .starts_with("path:")
        );
        assert!(
            uri_verdict("/menu/items/a%0Ab").is_err(),
            "a segment is one line"
        );
        assert!(
            uri_verdict("/menu/items?category%0A=a").is_err(),
            "a parameter name is one line"
        );
        assert_eq!(
            uri_verdict("/graphql?query=%7B%0A%20%20a%0A%7D"),
            Ok(()),
            "a value may span lines"
        );
        assert!(
            uri_verdict("/menu/items?category=%FF").is_err(),
            "not UTF-8"
        );
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        assert!(uri_verdict(&format!("/api/movies?title={long}")).is_err());
    }

    #[test]
    fn json_strings_and_keys_are_checked_by_path() {
        let ok = serde_json::json!({"note": "two\nlines\tok", "items": [{"quantity": 1}]});
        assert!(check_json(&ok).is_ok());
        let bad = serde_json::json!({"items": [{"note": "a\u{0}b"}]});
        assert_eq!(check_json(&bad).unwrap_err().field, "items[0].note");
        let key = serde_json::json!({"a\u{7}": 1});
        assert!(check_json(&key).is_err());
        assert!(check_json(&serde_json::json!("\u{0}")).is_err());
    }

    #[test]
    fn graphql_variables_and_literals_are_checked() {
        let variables = Variables::from_json(serde_json::json!({"input": {"title": "a\u{0}"}}));
        let empty = async_graphql_parser::parse_query("{ a }").expect("parses");
        let refused = check_graphql(&variables, &empty).unwrap_err();
        assert_eq!(refused.field, "$input.title");
        let document = async_graphql_parser::parse_query(
            "{ menuItems(category: \"a\\u0000b\") { name } } \
             fragment F on Query { movies(title: \"a\\u0007\") { title } }",
        )
        .expect("parses");
        let refused = check_graphql(&Variables::default(), &document).unwrap_err();
        assert_eq!(refused.field, "category");
    }
}
