//! What a descriptor says in words: the comment above it in its `.proto` file, an enum's
//! values as people know them, the variables of a route's path. Compiled into `mesh_proto` and, by `#[path]`, into the
//! gateway's build script, which names its generated GraphQL types and documents them the same
//! way as the OpenAPI document.

use prost_reflect::{EnumDescriptor, FileDescriptor};

/// The comment above a definition in its `.proto` file (`file` and `path` of its descriptor),
/// without the `//` margins: what the contract says of it, for the documents made from it.
pub fn comment(file: &FileDescriptor, path: &[i32]) -> Option<String> {
    let info = file.file_descriptor_proto().source_code_info.as_ref()?;
    let location = info
        .location
        .iter()
        .find(|location| location.path == path)?;
    let text = location.leading_comments.as_deref()?;
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end())
        .collect();
    let text = lines.join("\n").trim().to_owned();
    (!text.is_empty()).then_some(text)
}

/// What an enum's value names start with (`DELIVERY_STATUS_` of `DeliveryStatus`): the
/// contract's values carry it, and people and the gateway's surfaces know them without it
/// (`PENDING`).
pub fn enum_prefix(enumeration: &EnumDescriptor) -> String {
    let mut prefix = String::with_capacity(enumeration.name().len() + 4);
    for (index, c) in enumeration.name().chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            prefix.push('_');
        }
        prefix.push(c.to_ascii_uppercase());
    }
    prefix.push('_');
    prefix
}

/// An enum's values as people know them: without the prefix, the zero value (`UNSPECIFIED`)
/// left out.
pub fn enum_names(enumeration: &EnumDescriptor) -> Vec<String> {
    let prefix = enum_prefix(enumeration);
    enumeration
        .values()
        .filter(|value| value.number() != 0)
        .map(|value| {
            let name = value.name();
            name.strip_prefix(&prefix).unwrap_or(name).to_owned()
        })
        .collect()
}

/// The variables of a `google.api.http` path template, in order: `order_id` and `id` of
/// `/orders/{order_id}/items/{id}` (and `name` of `{name=shelves/*}`).
pub fn path_variables(path: &str) -> Vec<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split(['}', '=']).next())
        .collect()
}
