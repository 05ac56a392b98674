//! An answer's fields in the order the query asked for them (GraphQL spec §7.2.2, "Serialized
//! Map Ordering").
//!
//! async-graphql resolves an object's fields concurrently and writes each one as it completes
//! (async-graphql#612), so a field that waits on a backend (an order's `delivery` and
//! `payment`) came after the ones that did not, in whichever order the backends answered. This
//! keeps the parsed document and, once the operation has run, puts each object's keys
//! back in the order CollectFields gives them: fields and aliases as written, fragments and
//! inline fragments where they are spread. Subscription events are not reordered (they do not
//! pass through `execute`). It runs in the gateway's extension ([`super::extension`]).

use std::sync::{Arc, Mutex};

use async_graphql::{
    Name, Response,
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
    },
};
use async_graphql_value::ConstValue;

/// The document of one request, kept from parsing until its answer is ordered.
#[derive(Default)]
pub(super) struct FieldOrderOfOneRequest {
    document: Mutex<Option<Arc<ExecutableDocument>>>,
}

impl FieldOrderOfOneRequest {
    /// Keeps the request's document, shared with the remembered ones.
    pub(super) fn keep(&self, document: Arc<ExecutableDocument>) {
        *self.document.lock().unwrap_or_else(|p| p.into_inner()) = Some(document);
    }

    /// Keeps a copy of the document just parsed, unless one is kept already.
    pub(super) fn keep_parsed(&self, document: &ExecutableDocument) {
        let mut kept = self.document.lock().unwrap_or_else(|p| p.into_inner());
        if kept.is_none() {
            *kept = Some(Arc::new(document.clone()));
        }
    }

    /// Puts the answer of `operation_name`'s operation in the order its query asked for.
    pub(super) fn order(&self, response: &mut Response, operation_name: Option<&str>) {
        let document = self
            .document
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(document) = document
            && let Some(operation) = operation(&document, operation_name)
        {
            order(
                &mut response.data,
                &document,
                &[&operation.selection_set.node],
            );
        }
    }
}

/// The operation that ran: the document's only one, or the one named.
pub(super) fn operation<'a>(
    document: &'a ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a OperationDefinition> {
    match &document.operations {
        DocumentOperations::Single(operation) => Some(&operation.node),
        DocumentOperations::Multiple(operations) => match name {
            Some(name) => operations.get(name).map(|operation| &operation.node),
            None if operations.len() == 1 => operations.values().next().map(|o| &o.node),
            None => None,
        },
    }
}

/// A response key and the selection sets of the fields answering under it.
type Asked<'a> = (&'a Name, Vec<&'a SelectionSet>);

/// Orders `value`'s keys (of each element, for a list) by the selection sets that made it, and
/// its children by theirs. The sets are collected once, however many elements share them.
fn order(value: &mut ConstValue, document: &ExecutableDocument, sets: &[&SelectionSet]) {
    let mut fields = Vec::new();
    for set in sets {
        collect(set, document, &mut fields);
    }
    arrange(value, document, &fields);
}

fn arrange(value: &mut ConstValue, document: &ExecutableDocument, fields: &[Asked<'_>]) {
    match value {
        ConstValue::List(items) => {
            for item in items {
                arrange(item, document, fields);
            }
        }
        ConstValue::Object(object) => {
            let rank = |key: &Name| {
                fields
                    .iter()
                    .position(|(asked, _)| *asked == key)
                    .unwrap_or(usize::MAX)
            };
            object.sort_by(|a, _, b, _| rank(a).cmp(&rank(b)));
            for (key, child) in object.iter_mut() {
                if let Some((_, subsets)) = fields.iter().find(|(asked, _)| *asked == key)
                    && !subsets.is_empty()
                {
                    order(child, document, subsets);
                }
            }
        }
        _ => {}
    }
}

/// CollectFields: each response key once, where it first appears, with the selection sets of
/// every field that answers under it (a key asked twice merges its selections).
fn collect<'a>(
    set: &'a SelectionSet,
    document: &'a ExecutableDocument,
    fields: &mut Vec<Asked<'a>>,
) {
    for selection in &set.items {
        match &selection.node {
            Selection::Field(field) => {
                let key = &field.node.response_key().node;
                let subset = &field.node.selection_set.node;
                let at = match fields.iter().position(|(asked, _)| *asked == key) {
                    Some(at) => at,
                    None => {
                        fields.push((key, Vec::new()));
                        fields.len() - 1
                    }
                };
                if !subset.items.is_empty() {
                    fields[at].1.push(subset);
                }
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect(&fragment.node.selection_set.node, document, fields);
                }
            }
            Selection::InlineFragment(inline) => {
                collect(&inline.node.selection_set.node, document, fields);
            }
        }
    }
}
