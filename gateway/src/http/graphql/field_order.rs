//! An answer's fields in the order the query asked for them (GraphQL spec §7.2.2, "Serialized
//! Map Ordering").
//!
//! async-graphql resolves an object's fields concurrently and writes each one as it completes
//! (async-graphql#612), so a field that waits on a backend (an order's `delivery` and
//! `payment`) came after the ones that did not, in whichever order the backends answered. This
//! extension keeps the parsed document and, once the operation has run, puts each object's keys
//! back in the order CollectFields gives them: fields and aliases as written, fragments and
//! inline fragments where they are spread. Subscription events are not reordered (they do not
//! pass through `execute`).

use std::sync::{Arc, Mutex};

use async_graphql::{
    Name, Response, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery},
    parser::types::{
        DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet,
    },
};
use async_graphql_value::ConstValue;

/// The extension: answers in the query's field order.
#[derive(Clone, Copy, Debug, Default)]
pub struct FieldOrder;

impl ExtensionFactory for FieldOrder {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FieldOrderOfOneRequest::default())
    }
}

/// The document of one request, kept from parsing until its answer is ordered.
#[derive(Default)]
struct FieldOrderOfOneRequest {
    document: Mutex<Option<ExecutableDocument>>,
}

#[async_trait::async_trait]
impl Extension for FieldOrderOfOneRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        *self.document.lock().unwrap_or_else(|p| p.into_inner()) = Some(document.clone());
        Ok(document)
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
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
        response
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
