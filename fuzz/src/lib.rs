//! What each fuzz target does with one input, and the properties it asserts: a panic here is a
//! bug the fuzzer found (a crash of the gateway on a client's bytes, or a limit that let
//! something through).

use std::{collections::HashSet, path::PathBuf, sync::OnceLock};

use async_graphql_value::Variables;
use edge_rules::{
    graphql::{self, MAX_ALIASES, MAX_COMPLEXITY, MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_TOKENS},
    inputs,
};

/// A schema with the shapes the cost model tells apart (connections, plain lists, entities);
/// an example, not the gateway's schema.
const SCHEMA: &str = "
    type Query { orders(first: Int): OrderConnection menuItems(category: String): [MenuItem]
                 _entities(representations: [_Any!]!): [_Entity]! a: Query }
    type OrderConnection { edges: [OrderEdge] nodes: [Order] }
    type OrderEdge { node: Order }
    type Order { id: ID items: [OrderLine] history: [String] }
    type OrderLine { menuItem: MenuItem quantity: Int }
    type MenuItem { name: String tags: [String] }
";

fn list_fields() -> &'static HashSet<String> {
    static LISTS: OnceLock<HashSet<String>> = OnceLock::new();
    LISTS.get_or_init(|| graphql::list_fields(SCHEMA))
}

/// The stack a gateway request runs on: a tokio worker thread's (tokio's default, which the
/// gateway keeps). The parser and the limits recurse, so a document within the bounds must not
/// need more.
const WORKER_STACK_BYTES: usize = 2 * 1024 * 1024;

/// A GraphQL request as the gateway takes it, on a stack as small as a tokio worker's: the
/// first line is the variables (JSON; anything else is no variables), the rest the document.
/// Bounded before parsing, parsed, then measured; whatever the limits let through must be
/// within them.
pub fn graphql_request(data: &[u8]) {
    std::thread::scope(|scope| {
        let run = std::thread::Builder::new()
            .stack_size(WORKER_STACK_BYTES)
            .spawn_scoped(scope, || graphql_request_on_this_thread(data))
            .expect("a thread starts");
        if let Err(panic) = run.join() {
            std::panic::resume_unwind(panic);
        }
    });
}

fn graphql_request_on_this_thread(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (variables, query) = text.split_once('\n').unwrap_or(("", text));
    let variables = serde_json::from_str(variables)
        .map(Variables::from_json)
        .unwrap_or_default();

    let counted = graphql::tokens(query, MAX_TOKENS);
    assert!(counted <= MAX_TOKENS + 1, "counting stops past the limit");
    if query.len() > MAX_DOCUMENT_BYTES || counted > MAX_TOKENS {
        return;
    }
    let Ok(document) = async_graphql_parser::parse_query(query) else {
        return;
    };
    for introspection in [true, false] {
        if let Ok(measured) =
            graphql::check_with(&document, &variables, introspection, list_fields())
        {
            assert!(measured.depth <= MAX_DEPTH, "{measured:?}");
            assert!(measured.complexity <= MAX_COMPLEXITY, "{measured:?}");
            assert!(measured.aliases <= MAX_ALIASES, "{measured:?}");
        }
    }
}

/// A URL (path, then `?` and the query) and, after the first NUL, a JSON body: each checked by
/// the text rule, which must refuse every control character a line may not hold.
pub fn request_text(data: &[u8]) {
    let (url, body) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    if let Ok(url) = std::str::from_utf8(url) {
        let (path, query) = match url.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (url, None),
        };
        if inputs::check_url(path, query).is_ok() {
            assert!(!path.chars().any(char::is_control), "{path:?}");
        }
    }
    if let Ok(body) = serde_json::from_slice::<serde_json::Value>(body)
        && inputs::check_json(&body).is_ok()
    {
        assert!(strings_of(&body).all(|s| !s.contains('\0')), "{body}");
    }
}

fn strings_of(value: &serde_json::Value) -> Box<dyn Iterator<Item = &str> + '_> {
    match value {
        serde_json::Value::String(text) => Box::new(std::iter::once(text.as_str())),
        serde_json::Value::Array(items) => Box::new(items.iter().flat_map(strings_of)),
        serde_json::Value::Object(fields) => Box::new(
            fields
                .iter()
                .flat_map(|(key, item)| std::iter::once(key.as_str()).chain(strings_of(item))),
        ),
        _ => Box::new(std::iter::empty()),
    }
}

/// Outside `cargo fuzz`: runs `target` on every file named (or in a directory named) on the
/// command line, e.g. a corpus or a crash libFuzzer saved.
pub fn replay(target: fn(&[u8])) {
    let mut paths: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let mut ran = 0;
    while let Some(path) = paths.pop() {
        if let Ok(entries) = std::fs::read_dir(&path) {
            paths.extend(entries.filter_map(|entry| entry.ok().map(|e| e.path())));
            continue;
        }
        match std::fs::read(&path) {
            Ok(data) => {
                target(&data);
                ran += 1;
            }
            Err(err) => {
                eprintln!("{}: {err}", path.display());
                std::process::exit(2);
            }
        }
    }
    eprintln!("{ran} inputs ran, none failed");
}
