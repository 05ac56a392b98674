//! Query limits: what a GraphQL request may cost the backends, checked once the document is
//! parsed and before anything runs.
//!
//! - **Depth** (`QUERY_TOO_DEEP`): at most [`MAX_DEPTH`] nested fields.
//! - **Complexity** (`QUERY_TOO_COMPLEX`): at most [`MAX_COMPLEXITY`] fields, where the fields
//!   under a connection (a field selecting `edges` or `nodes`) count once per node it may return:
//!   its `first` argument, or [`DEFAULT_PAGE`] when omitted.
//! - **Introspection off** (`INTROSPECTION_DISABLED`): when the gateway is configured so,
//!   `__schema` and `__type` are refused by name instead of quietly answering null.
//! - **Introspection** (`INTROSPECTION_TOO_DEEP`): `__schema` and `__type` are answered from
//!   the schema in memory and never reach a backend, so depth and complexity skip them; what
//!   bounds them is graphql-js's `MaxIntrospectionDepthRule`: `fields`, `interfaces`,
//!   `possibleTypes` and `inputFields` nested fewer than [`MAX_INTROSPECTION_LISTS`] deep. The
//!   standard introspection query (GraphiQL's, Postman's, graphql-js `getIntrospectionQuery`
//!   with every option) nests them once, so it always passes, however deep its `ofType` chain.
//!
//! async-graphql's own `limit_depth` counts introspection too, which refused GraphiQL's schema
//! query; that is why these limits are ours.

use std::{collections::HashMap, sync::Arc};

use async_graphql::{
    ErrorExtensionValues, Name, Pos, Positioned, ServerError, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{ExecutableDocument, Field, FragmentDefinition, Selection, SelectionSet},
};
use async_graphql_value::{ConstValue, Value};

/// Deepest field nesting a query may have, introspection aside.
pub const MAX_DEPTH: usize = 12;
/// Most fields a query may resolve, connections counted per node.
pub const MAX_COMPLEXITY: usize = 1_000;
/// What a connection without `first` counts as: the largest default page of the schema.
pub const DEFAULT_PAGE: usize = 50;
/// List fields of introspection nested this deep are refused (graphql-js's limit).
pub const MAX_INTROSPECTION_LISTS: usize = 3;

/// The limits, as an async-graphql extension.
#[derive(Clone, Copy, Debug)]
pub struct QueryLimits {
    /// Whether `__schema` and `__type` may be asked at all.
    pub introspection: bool,
}

impl ExtensionFactory for QueryLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(*self)
    }
}

#[async_trait::async_trait]
impl Extension for QueryLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        check(&document, variables, self.introspection)?;
        Ok(document)
    }
}

/// Checks every operation of the document (only one runs, but which is not known yet).
pub fn check(
    document: &ExecutableDocument,
    variables: &Variables,
    introspection: bool,
) -> ServerResult<()> {
    let mut walk = Walk {
        fragments: &document.fragments,
        variables,
        introspection_allowed: introspection,
        costs: HashMap::new(),
        introspection: HashMap::new(),
    };
    for (_, operation) in document.operations.iter() {
        let set = &operation.node.selection_set;
        let cost = walk.cost(&set.node)?;
        if cost.depth > MAX_DEPTH {
            return Err(refusal(
                "QUERY_TOO_DEEP",
                format!(
                    "the query nests {} fields deep; at most {MAX_DEPTH} are allowed",
                    cost.depth
                ),
                operation.pos,
            ));
        }
        if cost.complexity > MAX_COMPLEXITY {
            return Err(refusal(
                "QUERY_TOO_COMPLEX",
                format!(
                    "the query may resolve {} fields; at most {MAX_COMPLEXITY} are allowed \
                     (ask for fewer nodes with `first`, or fewer fields)",
                    cost.complexity
                ),
                operation.pos,
            ));
        }
    }
    Ok(())
}

fn refusal(code: &str, message: String, pos: Pos) -> ServerError {
    let mut error = ServerError::new(message, Some(pos));
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cost {
    /// Deepest field nesting below (and including) this selection set.
    depth: usize,
    /// Fields it may resolve. Saturating: a fragment bomb must not overflow.
    complexity: usize,
}

/// One walk over a document. Fragments are measured once each (memoised), so a document that
/// spreads fragments exponentially often costs linear time to check.
struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
    introspection_allowed: bool,
    /// A fragment's cost; `None` while it is being measured, which breaks spread cycles
    /// (validation reports those afterwards).
    costs: HashMap<&'a str, Option<Cost>>,
    /// Whether a fragment, entered with that many introspection lists above it, stays within
    /// the introspection limit.
    introspection: HashMap<(&'a str, usize), bool>,
}

impl<'a> Walk<'a> {
    fn cost(&mut self, set: &'a SelectionSet) -> ServerResult<Cost> {
        let mut total = Cost::default();
        for selection in &set.items {
            let cost = match &selection.node {
                Selection::Field(field) => self.field_cost(&field.node, field.pos)?,
                Selection::InlineFragment(fragment) => {
                    self.cost(&fragment.node.selection_set.node)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment_cost(spread.node.fragment_name.node.as_str())?
                }
            };
            total.depth = total.depth.max(cost.depth);
            total.complexity = total.complexity.saturating_add(cost.complexity);
        }
        Ok(total)
    }

    fn field_cost(&mut self, field: &'a Field, pos: Pos) -> ServerResult<Cost> {
        if matches!(field.name.node.as_str(), "__schema" | "__type") {
            if !self.introspection_allowed {
                return Err(refusal(
                    "INTROSPECTION_DISABLED",
                    "introspection is turned off on this gateway".to_owned(),
                    pos,
                ));
            }
            if !self.introspection_ok(&field.selection_set.node, 0) {
                return Err(refusal(
                    "INTROSPECTION_TOO_DEEP",
                    format!(
                        "introspection nests `fields`, `interfaces`, `possibleTypes` or \
                         `inputFields` {MAX_INTROSPECTION_LISTS} or more deep"
                    ),
                    pos,
                ));
            }
            return Ok(Cost::default());
        }
        let children = self.cost(&field.selection_set.node)?;
        let per_node = if is_connection(&field.selection_set.node) {
            self.first(field).unwrap_or(DEFAULT_PAGE)
        } else {
            1
        };
        Ok(Cost {
            depth: children.depth + 1,
            complexity: children
                .complexity
                .saturating_mul(per_node)
                .saturating_add(1),
        })
    }

    fn fragment_cost(&mut self, name: &'a str) -> ServerResult<Cost> {
        if let Some(known) = self.costs.get(name) {
            return Ok(known.unwrap_or_default());
        }
        let Some(fragment) = self.fragments.get(name) else {
            // An unknown fragment: validation refuses the document right after.
            return Ok(Cost::default());
        };
        self.costs.insert(name, None);
        let cost = self.cost(&fragment.node.selection_set.node)?;
        self.costs.insert(name, Some(cost));
        Ok(cost)
    }

    /// `first: 10` or `first: $n`, when it is a non-negative integer.
    fn first(&self, field: &Field) -> Option<usize> {
        let (_, value) = field
            .arguments
            .iter()
            .find(|(name, _)| name.node == "first")?;
        let number = match &value.node {
            Value::Number(number) => number.as_u64(),
            Value::Variable(name) => match self.variables.get(name) {
                Some(ConstValue::Number(number)) => number.as_u64(),
                _ => None,
            },
            _ => None,
        }?;
        usize::try_from(number).ok()
    }

    fn introspection_ok(&mut self, set: &'a SelectionSet, lists: usize) -> bool {
        set.items.iter().all(|selection| match &selection.node {
            Selection::Field(field) => {
                let name = field.node.name.node.as_str();
                let lists = match name {
                    "fields" | "interfaces" | "possibleTypes" | "inputFields" => lists + 1,
                    _ => lists,
                };
                lists < MAX_INTROSPECTION_LISTS
                    && self.introspection_ok(&field.node.selection_set.node, lists)
            }
            Selection::InlineFragment(fragment) => {
                self.introspection_ok(&fragment.node.selection_set.node, lists)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                if let Some(ok) = self.introspection.get(&(name, lists)) {
                    return *ok;
                }
                let Some(fragment) = self.fragments.get(name) else {
                    return true;
                };
                // Provisionally fine while inside it: a cycle is validation's to refuse.
                self.introspection.insert((name, lists), true);
                let ok = self.introspection_ok(&fragment.node.selection_set.node, lists);
                self.introspection.insert((name, lists), ok);
                ok
            }
        })
    }
}

/// A field that selects `edges` or `nodes` returns a page of nodes.
fn is_connection(set: &SelectionSet) -> bool {
    set.items.iter().any(|selection| match &selection.node {
        Selection::Field(field) => matches!(field.node.name.node.as_str(), "edges" | "nodes"),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn verdict(query: &str) -> Result<(), String> {
        let document = parse_query(query).expect("the test query parses");
        check(&document, &Variables::default(), true).map_err(|err| {
            let code = err
                .extensions
                .as_ref()
                .and_then(|ext| ext.get("code").cloned())
                .map(|code| code.to_string())
                .unwrap_or_default();
            format!("{code} {}", err.message)
        })
    }

    #[test]
    fn the_standard_introspection_query_passes_however_deep_its_type_refs() {
        let mut of_type = String::from("kind name");
        for _ in 0..12 {
            of_type = format!("kind name ofType {{ {of_type} }}");
        }
        let query = format!(
            "query IntrospectionQuery {{ __schema {{ types {{ ...FullType }} }} }}
             fragment FullType on __Type {{
               kind name fields(includeDeprecated: true) {{ name args {{ name type {{ ...TypeRef }} }} type {{ ...TypeRef }} }}
               inputFields {{ name type {{ ...TypeRef }} }} interfaces {{ ...TypeRef }}
               possibleTypes {{ ...TypeRef }}
             }}
             fragment TypeRef on __Type {{ {of_type} }}"
        );
        assert_eq!(verdict(&query), Ok(()));
    }

    #[test]
    fn refuses_introspection_nesting_fields_three_deep() {
        let query =
            "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
        let refused = verdict(query).unwrap_err();
        assert!(
            refused.starts_with("\"INTROSPECTION_TOO_DEEP\""),
            "{refused}"
        );
    }

    #[test]
    fn refuses_a_query_nested_deeper_than_the_limit() {
        let mut query = String::from("id");
        for _ in 0..MAX_DEPTH {
            query = format!("a {{ {query} }}");
        }
        let refused = verdict(&format!("{{ {query} }}")).unwrap_err();
        assert!(refused.starts_with("\"QUERY_TOO_DEEP\""), "{refused}");
    }

    #[test]
    fn counts_connection_nodes_by_first() {
        let fields = "id status delivery { status } payment { status } \
                      items { quantity menuItem { name priceCents } }";
        assert_eq!(
            verdict(&format!(
                "{{ orders(first: 5) {{ edges {{ node {{ {fields} }} }} }} }}"
            )),
            Ok(())
        );
        let refused = verdict(&format!(
            "{{ orders(first: 100) {{ edges {{ node {{ {fields} }} }} }} }}"
        ))
        .unwrap_err();
        assert!(refused.starts_with("\"QUERY_TOO_COMPLEX\""), "{refused}");
    }

    #[test]
    fn a_fragment_bomb_is_measured_without_blowing_up() {
        let mut query = String::from("{ ...F0 } fragment F0 on Query { ...F1 ...F1 }");
        for i in 1..64 {
            query.push_str(&format!(
                " fragment F{i} on Query {{ ...F{} ...F{} }}",
                i + 1,
                i + 1
            ));
        }
        query.push_str(" fragment F64 on Query { a }");
        let refused = verdict(&query).unwrap_err();
        assert!(refused.starts_with("\"QUERY_TOO_COMPLEX\""), "{refused}");
    }

    #[test]
    fn introspection_turned_off_is_refused_by_name() {
        let document = parse_query("{ __type(name: \"Query\") { name } }").expect("parses");
        let refused = check(&document, &Variables::default(), false).unwrap_err();
        let code = refused.extensions.and_then(|ext| ext.get("code").cloned());
        assert_eq!(
            code,
            Some(async_graphql::Value::from("INTROSPECTION_DISABLED"))
        );
    }

    #[test]
    fn fragment_cycles_are_left_to_validation() {
        assert_eq!(
            verdict("{ ...A } fragment A on Query { a ...B } fragment B on Query { ...A }"),
            Ok(())
        );
    }
}
