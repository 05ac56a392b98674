//! GraphQL operation limits: what a request may cost the backends, checked once the document is
//! parsed and before anything runs (the gateway's `graphql::limits` runs them as an
//! async-graphql extension), and the document bounds checked before parsing.
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
//! - **Aliases** (`TOO_MANY_ALIASES`), **root fields** (`TOO_MANY_ROOT_FIELDS`), **mutations**
//!   (`TOO_MANY_MUTATIONS`, root fields of a mutation) and **directives** (`TOO_MANY_DIRECTIVES`):
//!   Apollo Router's operation limits, so one request cannot place 300 orders under 300 aliases.
//! - **`_entities`** (`TOO_MANY_ENTITIES`): at most [`MAX_ENTITIES`] representations, each
//!   counted in the complexity as a node.
//! - **No free shapes**: `first: 0` or a negative `first` is refused (`INVALID_ARGUMENT`; a page
//!   is 1 to 100), a list field that is not a connection counts [`LIST_SIZE`] per element (its
//!   names come from the schema itself, [`list_fields`]), fragments count every time they are
//!   spread, and introspection counts its fields.
//! - **Text** (`INVALID_ARGUMENT`): every string argument and variable passes the edge's text
//!   rule ([`crate::inputs`]).
//!
//! - **Before parsing**: at most [`MAX_DOCUMENT_BYTES`] and [`MAX_TOKENS`] ([`tokens`]), so a
//!   huge document is refused before a parser builds anything from it.
//!
//! async-graphql's own `limit_depth` counts introspection too, which refused GraphiQL's schema
//! query; that is why these limits are ours.

use std::collections::{HashMap, HashSet};

use async_graphql_parser::{
    Pos, Positioned,
    types::{
        BaseType, ExecutableDocument, Field, FragmentDefinition, OperationType, Selection,
        SelectionSet, TypeKind, TypeSystemDefinition,
    },
};
use async_graphql_value::{ConstValue, Name, Value, Variables};

use crate::inputs;

/// Deepest field nesting a query may have, introspection aside.
pub const MAX_DEPTH: usize = 12;
/// Most fields a query may resolve, connections counted per node.
pub const MAX_COMPLEXITY: usize = 1_000;
/// What a connection without `first` counts as: the largest default page of the schema.
pub const DEFAULT_PAGE: usize = 50;
/// List fields of introspection nested this deep are refused (graphql-js's limit).
pub const MAX_INTROSPECTION_LISTS: usize = 3;
/// Most aliased fields in one operation (Apollo Router's `max_aliases` example value).
pub const MAX_ALIASES: usize = 30;
/// Most root fields of a query or subscription.
pub const MAX_ROOT_FIELDS: usize = 20;
/// Most root fields of a mutation: each is a write to a backend.
pub const MAX_MUTATIONS: usize = 5;
/// Most directives in one operation.
pub const MAX_DIRECTIVES: usize = 20;
/// Most representations one `_entities` may resolve.
pub const MAX_ENTITIES: usize = 100;
/// What a list field that is not a connection counts per element (an order's items, a
/// delivery's history, a movie search).
pub const LIST_SIZE: usize = 10;

/// The longest document accepted at all.
pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024;
/// The most tokens a document may have (punctuation, names, numbers and strings each count).
pub const MAX_TOKENS: usize = 5_000;

/// The names of the schema's list fields that are not a connection's `edges` or `nodes`
/// (those count by `first`), read from its SDL.
pub fn list_fields(sdl: &str) -> HashSet<String> {
    let Ok(document) = async_graphql_parser::parse_schema(sdl) else {
        return HashSet::new();
    };
    let mut lists = HashSet::new();
    for definition in &document.definitions {
        let TypeSystemDefinition::Type(ty) = definition else {
            continue;
        };
        let fields = match &ty.node.kind {
            TypeKind::Object(object) => &object.fields,
            TypeKind::Interface(interface) => &interface.fields,
            _ => continue,
        };
        for field in fields {
            let name = field.node.name.node.as_str();
            if matches!(field.node.ty.node.base, BaseType::List(_))
                && !matches!(name, "edges" | "nodes" | "_entities")
            {
                lists.insert(name.to_owned());
            }
        }
    }
    lists
}

/// What the heaviest operation of a document measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Measured {
    pub complexity: usize,
    pub depth: usize,
    pub aliases: usize,
    pub root_fields: usize,
}

/// Checks every operation of the document (only one runs, but which is not known yet), with
/// no list fields known (tests of shapes).
pub fn check(
    document: &ExecutableDocument,
    variables: &Variables,
    introspection: bool,
) -> Checked<()> {
    check_with(document, variables, introspection, &HashSet::new()).map(drop)
}

/// [`check`], knowing the schema's list fields; what the heaviest operation measured.
pub fn check_with(
    document: &ExecutableDocument,
    variables: &Variables,
    introspection: bool,
    lists: &HashSet<String>,
) -> Checked<Measured> {
    let mut walk = Walk {
        fragments: &document.fragments,
        variables,
        introspection_allowed: introspection,
        lists,
        root_counts: HashMap::new(),
        costs: HashMap::new(),
        introspection: HashMap::new(),
    };
    inputs::check_graphql(variables, document).map_err(|err| {
        refusal(
            "INVALID_ARGUMENT",
            format!("{}: {}", err.field, err.reason),
            Pos::default(),
        )
    })?;
    let mut heaviest = Measured::default();
    for (_, operation) in document.operations.iter() {
        let set = &operation.node.selection_set;
        let cost = walk.cost(&set.node)?;
        let root_fields = walk.root_fields(&set.node);
        let directives = cost.directives + operation.node.directives.len();
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
        let (limit, code, what) = match operation.node.ty {
            OperationType::Mutation => (MAX_MUTATIONS, "TOO_MANY_MUTATIONS", "mutations"),
            _ => (MAX_ROOT_FIELDS, "TOO_MANY_ROOT_FIELDS", "root fields"),
        };
        if root_fields > limit {
            return Err(refusal(
                code,
                format!("the operation has {root_fields} {what}; at most {limit} are allowed"),
                operation.pos,
            ));
        }
        if cost.aliases > MAX_ALIASES {
            return Err(refusal(
                "TOO_MANY_ALIASES",
                format!(
                    "the operation has {} aliases; at most {MAX_ALIASES} are allowed",
                    cost.aliases
                ),
                operation.pos,
            ));
        }
        if directives > MAX_DIRECTIVES {
            return Err(refusal(
                "TOO_MANY_DIRECTIVES",
                format!(
                    "the operation has {directives} directives; at most {MAX_DIRECTIVES} are allowed"
                ),
                operation.pos,
            ));
        }
        if cost.complexity >= heaviest.complexity {
            heaviest = Measured {
                complexity: cost.complexity,
                depth: cost.depth,
                aliases: cost.aliases,
                root_fields,
            };
        }
    }
    Ok(heaviest)
}

/// Why a document is refused before anything runs: a GraphQL error code (`QUERY_TOO_DEEP`, …),
/// the message for the client, and where in the document.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
    pub pos: Pos,
}

fn refusal(code: &'static str, message: String, pos: Pos) -> Refusal {
    Refusal { code, message, pos }
}

type Checked<T> = Result<T, Refusal>;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Cost {
    /// Deepest field nesting below (and including) this selection set.
    depth: usize,
    /// Fields it may resolve. Saturating: a fragment bomb must not overflow.
    complexity: usize,
    /// Aliased fields it holds, fragments counted each time they are spread.
    aliases: usize,
    /// Directives it holds, likewise.
    directives: usize,
}

impl Cost {
    /// Two selections side by side.
    fn beside(self, other: Self) -> Self {
        Self {
            depth: self.depth.max(other.depth),
            complexity: self.complexity.saturating_add(other.complexity),
            aliases: self.aliases.saturating_add(other.aliases),
            directives: self.directives.saturating_add(other.directives),
        }
    }
}

/// One walk over a document. Fragments are measured once each (memoised), so a document that
/// spreads fragments exponentially often costs linear time to check.
struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    variables: &'a Variables,
    introspection_allowed: bool,
    lists: &'a HashSet<String>,
    /// A fragment's root fields, remembered like its cost.
    root_counts: HashMap<&'a str, Option<usize>>,
    /// A fragment's cost; `None` while it is being measured, which breaks spread cycles
    /// (validation reports those afterwards).
    costs: HashMap<&'a str, Option<Cost>>,
    /// Whether a fragment, entered with that many introspection lists above it, stays within
    /// the introspection limit.
    introspection: HashMap<(&'a str, usize), bool>,
}

impl<'a> Walk<'a> {
    fn cost(&mut self, set: &'a SelectionSet) -> Checked<Cost> {
        let mut total = Cost::default();
        for selection in &set.items {
            let cost = match &selection.node {
                Selection::Field(field) => self.field_cost(&field.node, field.pos)?,
                Selection::InlineFragment(fragment) => {
                    let mut cost = self.cost(&fragment.node.selection_set.node)?;
                    cost.directives += fragment.node.directives.len();
                    cost
                }
                Selection::FragmentSpread(spread) => {
                    let mut cost = self.fragment_cost(spread.node.fragment_name.node.as_str())?;
                    cost.directives += spread.node.directives.len();
                    cost
                }
            };
            total = total.beside(cost);
        }
        Ok(total)
    }

    /// The fields a selection set puts at its own level, fragments opened (each fragment
    /// counted once and remembered, so a fragment bomb costs linear time here too).
    fn root_fields(&mut self, set: &'a SelectionSet) -> usize {
        set.items
            .iter()
            .map(|selection| match &selection.node {
                Selection::Field(_) => 1,
                Selection::InlineFragment(fragment) => {
                    self.root_fields(&fragment.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if let Some(known) = self.root_counts.get(name) {
                        // `None` while being counted: a cycle is validation's to refuse.
                        return known.unwrap_or_default();
                    }
                    let Some(fragment) = self.fragments.get(name) else {
                        return 0;
                    };
                    self.root_counts.insert(name, None);
                    let count = self.root_fields(&fragment.node.selection_set.node);
                    self.root_counts.insert(name, Some(count));
                    count
                }
            })
            .fold(0, usize::saturating_add)
    }

    fn field_cost(&mut self, field: &'a Field, pos: Pos) -> Checked<Cost> {
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
            // Answered from memory, but not free: its fields count (its depth does not; the
            // list nesting above bounds it).
            let children = self.cost(&field.selection_set.node)?;
            return Ok(Cost {
                depth: 0,
                complexity: children.complexity.saturating_add(1),
                ..children
            });
        }
        let first = self.first(field, pos)?;
        let children = self.cost(&field.selection_set.node)?;
        let name = field.name.node.as_str();
        let per_node = if name == "_entities" {
            self.entities(field, pos)?
        } else if is_connection(&field.selection_set.node) {
            first.unwrap_or(DEFAULT_PAGE)
        } else if self.lists.contains(name) {
            LIST_SIZE
        } else {
            1
        };
        Ok(Cost {
            depth: children.depth + 1,
            complexity: children
                .complexity
                .saturating_mul(per_node)
                .saturating_add(1),
            aliases: children
                .aliases
                .saturating_add(usize::from(field.alias.is_some())),
            directives: children.directives.saturating_add(field.directives.len()),
        })
    }

    /// How many representations `_entities` is asked to resolve; refused over
    /// [`MAX_ENTITIES`]. A list that cannot be counted yet (validation refuses it after) is 1.
    fn entities(&self, field: &Field, pos: Pos) -> Checked<usize> {
        let count = field
            .arguments
            .iter()
            .find(|(name, _)| name.node == "representations")
            .map_or(0, |(_, value)| match &value.node {
                Value::List(items) => items.len(),
                Value::Variable(name) => match self.variables.get(name) {
                    Some(ConstValue::List(items)) => items.len(),
                    _ => 1,
                },
                _ => 1,
            });
        if count > MAX_ENTITIES {
            return Err(refusal(
                "TOO_MANY_ENTITIES",
                format!(
                    "_entities is asked for {count} representations; at most {MAX_ENTITIES} \
                     are allowed per request"
                ),
                pos,
            ));
        }
        Ok(count.max(1))
    }

    fn fragment_cost(&mut self, name: &'a str) -> Checked<Cost> {
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

    /// `first: 10` or `first: $n`; `None` when absent (or not a number: validation refuses
    /// it after). Zero or less is refused: an empty page is not a page, and a backend would
    /// read 0 as "the default size".
    fn first(&self, field: &Field, pos: Pos) -> Checked<Option<usize>> {
        let Some((_, value)) = field
            .arguments
            .iter()
            .find(|(name, _)| name.node == "first")
        else {
            return Ok(None);
        };
        let number = match &value.node {
            Value::Number(number) => number.as_i64(),
            Value::Variable(name) => match self.variables.get(name) {
                Some(ConstValue::Number(number)) => number.as_i64(),
                _ => None,
            },
            _ => None,
        };
        match number {
            Some(number) if number < 1 => Err(refusal(
                "INVALID_ARGUMENT",
                format!("first: must be 1 to 100, not {number}"),
                pos,
            )),
            Some(number) => Ok(usize::try_from(number).ok()),
            None => Ok(None),
        }
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

/// How many tokens a GraphQL document has, counted the way its lexer would cut it, without
/// building anything: names and numbers, strings (block strings too), `...` and each other
/// punctuator count one; whitespace, commas and comments none. Stops counting past `limit`.
pub fn tokens(text: &str, limit: usize) -> usize {
    let bytes = text.as_bytes();
    let (mut i, mut count) = (0, 0);
    while i < bytes.len() && count <= limit {
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => i += 1,
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                count += 1;
                if bytes[i..].starts_with(b"\"\"\"") {
                    i += 3;
                    while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 3;
                } else {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i += 1;
                }
            }
            b'.' if bytes[i..].starts_with(b"...") => {
                count += 1;
                i += 3;
            }
            byte if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' => {
                count += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || matches!(bytes[i], b'_' | b'.' | b'-' | b'+'))
                {
                    i += 1;
                }
            }
            _ => {
                count += 1;
                i += 1;
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use async_graphql_parser::parse_query;

    use super::*;

    fn verdict(query: &str) -> Result<(), String> {
        let document = parse_query(query).expect("the test query parses");
        check(&document, &Variables::default(), true)
            .map_err(|err| format!("\"{}\" {}", err.code, err.message))
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
        assert_eq!(refused.code, "INTROSPECTION_DISABLED");
    }

    #[test]
    fn fragment_cycles_are_left_to_validation() {
        assert_eq!(
            verdict("{ ...A } fragment A on Query { a ...B } fragment B on Query { ...A }"),
            Ok(())
        );
    }

    #[test]
    fn tokens_are_counted_as_the_lexer_cuts_them() {
        assert_eq!(tokens("{ a }", 100), 3);
        assert_eq!(
            tokens("query Q($n: Int = -1.5e3) { a(s: \"x, y\") ...F }", 100),
            20
        );
        assert_eq!(tokens("# a comment { }\n{ a, b }", 100), 4);
        assert_eq!(tokens("{ a(s: \"\"\"block \" }\"\"\") }", 100), 8);
        let many = "{ ".to_owned() + &"a ".repeat(10_000) + "}";
        assert_eq!(tokens(&many, MAX_TOKENS), MAX_TOKENS + 1, "stops counting");
    }
}
