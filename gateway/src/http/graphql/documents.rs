//! Parsed GraphQL documents, remembered by the SHA-256 of their text, so each distinct query is
//! parsed once per gateway instead of once per request (parsing was a sixth of a small query's
//! cost), and automatic persisted queries as Apollo clients speak them: a request may carry
//! `extensions.persistedQuery = {version: 1, sha256Hash}` instead of its query text.
//!
//! 1. hash only, unknown hash → error `PERSISTED_QUERY_NOT_FOUND` (message
//!    `PersistedQueryNotFound`, which older clients match on);
//! 2. the client retries with hash + query → the query runs and is remembered under its hash;
//! 3. hash only again → it runs from memory.
//!
//! A hash that does not match its query is `PERSISTED_QUERY_HASH_MISMATCH`. The memory is an LRU
//! per gateway instance: a miss only costs a parse, or an APQ client one retry. It is bounded
//! twice: [`REMEMBERED`] documents and [`REMEMBERED_BYTES`] of their text, and a document (plain
//! or persisted) is remembered only up to [`REMEMBERED_TEXT`] bytes, so distinct huge queries
//! cannot fill memory; one that does not parse is left to async-graphql, which reports the error
//! as always. The [`super::limits`] still run on every request: they depend on variables.
//!
//! **Validated once**: a remembered document that passed validation for an operation is not
//! validated again for it (validation was an eighth of a small query's gateway cost). What
//! validation reads besides the schema and the document is the variables' values; they are
//! checked on every request ([`super::variables`]), before validation, whether or not it runs.
//!
//! **Trusted documents** (production): with a manifest ([`TrustedDocuments`], Apollo's persisted
//! query manifest format, `GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS`), only the documents it lists run,
//! sent by hash (`extensions.persistedQuery`) or in full; anything else is refused before it is
//! parsed (`PERSISTED_QUERY_NOT_IN_LIST` for an unknown hash, `QUERY_NOT_IN_SAFELIST` for an
//! unknown text). Nothing a client sends is remembered then: the manifest is the memory.
//!
//! Before any parse, a document is refused when it is longer than [`MAX_DOCUMENT_BYTES`]
//! (`QUERY_TOO_LARGE`) or has more than [`MAX_TOKENS`] tokens (`TOO_MANY_TOKENS`, the parser
//! token limit of Apollo and Hive routers): parsing is the one cost no later limit can bound.

use std::{
    collections::HashMap,
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use async_graphql::{
    CacheControl, Request, ServerError, ServerResult, ValidationResult,
    extensions::{ExtensionContext, NextValidation},
    parser::{parse_query, types::ExecutableDocument},
};
use edge_rules::graphql::{MAX_DOCUMENT_BYTES, MAX_TOKENS, tokens};
use lru::LruCache;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How many distinct documents one gateway remembers.
const REMEMBERED: NonZeroUsize = NonZeroUsize::new(2048).expect("non-zero");
/// The longest query text remembered (GraphiQL's introspection query is about 2 KB).
const REMEMBERED_TEXT: usize = 8 * 1024;
/// The most text the remembered documents may add up to (their parsed form is a small multiple).
pub const REMEMBERED_BYTES: usize = 2 * 1024 * 1024;

/// The longest operation name whose validation is remembered (longer ones validate each time).
const REMEMBERED_NAME: usize = 256;

/// A document's key: the SHA-256 of its text, as APQ clients name it.
type Hash = [u8; 32];

/// A document and the operation of it a request runs.
type Operation = (Hash, Option<String>);

/// The documents of every request; clones share one memory.
#[derive(Clone, Default)]
pub struct Documents {
    memory: Arc<Mutex<Memory>>,
    validated: Arc<Mutex<Validated>>,
    trusted: Option<TrustedDocuments>,
}

/// The operations that passed validation, with the cache control validation found for them.
struct Validated(LruCache<Operation, CacheControl>);

impl Default for Validated {
    fn default() -> Self {
        Self(LruCache::new(REMEMBERED))
    }
}

/// The documents a production gateway runs, parsed once at start, by the SHA-256 of their
/// text.
#[derive(Clone, Debug)]
pub struct TrustedDocuments(Arc<HashMap<Hash, Arc<ExecutableDocument>>>);

/// Apollo's persisted query manifest: `{"format": "apollo-persisted-query-manifest",
/// "version": 1, "operations": [{"id": "<sha256 of body>", "name", "type", "body"}]}`.
#[derive(Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    operations: Vec<ManifestOperation>,
}

#[derive(Deserialize)]
struct ManifestOperation {
    id: String,
    body: String,
}

impl TrustedDocuments {
    /// The manifest's documents; an error names the first thing wrong with it.
    pub fn parse(manifest: &str) -> Result<Self, String> {
        let manifest: Manifest =
            serde_json::from_str(manifest).map_err(|err| format!("not a manifest: {err}"))?;
        if manifest.format != "apollo-persisted-query-manifest" || manifest.version != 1 {
            return Err("format must be apollo-persisted-query-manifest, version 1".to_owned());
        }
        let mut documents = HashMap::new();
        for operation in manifest.operations {
            let hash: Hash = Sha256::digest(operation.body.as_bytes()).into();
            if parse_hash(&operation.id) != Some(hash) {
                return Err(format!(
                    "operation {}: id is not the SHA-256 of its body",
                    operation.id
                ));
            }
            let document = parse_query(&operation.body)
                .map_err(|err| format!("operation {}: {err}", operation.id))?;
            documents.insert(hash, Arc::new(document));
        }
        Ok(Self(Arc::new(documents)))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The documents, and how much text they stand for.
struct Memory {
    documents: LruCache<Hash, (Arc<ExecutableDocument>, usize)>,
    bytes: usize,
}

impl Default for Memory {
    fn default() -> Self {
        Self {
            documents: LruCache::new(REMEMBERED),
            bytes: 0,
        }
    }
}

impl Documents {
    /// Only `trusted`'s documents run (none given: any document, remembered as it comes).
    pub fn new(trusted: Option<TrustedDocuments>) -> Self {
        Self {
            trusted,
            ..Self::default()
        }
    }
}

impl Documents {
    /// The part of one request's extension ([`super::extension`]) that is the documents'.
    pub(super) fn for_request(&self) -> DocumentsOfOneRequest {
        DocumentsOfOneRequest {
            documents: self.clone(),
            validation: Mutex::new(Validation::Run),
        }
    }
}

/// The documents as one request sees them: what its validation step will do.
pub(super) struct DocumentsOfOneRequest {
    documents: Documents,
    validation: Mutex<Validation>,
}

/// What the validation step does with a request's document.
enum Validation {
    /// Validate (a document not remembered).
    Run,
    /// Validate, and remember the operation as valid if it is.
    Remember(Operation),
    /// Already validated: skip, with what validation found.
    Known(CacheControl),
    /// A variable's value is not of its type: refuse with this.
    Refused(ServerError),
}

#[derive(Deserialize)]
struct PersistedQuery {
    version: i32,
    #[serde(rename = "sha256Hash")]
    sha256_hash: String,
}

/// A request's document as found here: parsed and shared with the memory (unless it is too long
/// or does not parse), and the hash it is remembered by, if it is.
#[derive(Default)]
struct Found {
    hash: Option<Hash>,
    document: Option<Arc<ExecutableDocument>>,
}

fn error(code: &str, message: &str) -> ServerError {
    super::coded_error(code, message, None)
}

/// The 32 bytes a 64-digit hex hash spells, either case; `None` for anything else.
fn parse_hash(hex: &str) -> Option<Hash> {
    let digits = hex.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut hash = [0; 32];
    for (byte, pair) in hash.iter_mut().zip(digits.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(hash)
}

impl Documents {
    fn remembered(&self, hash: &Hash) -> Option<Arc<ExecutableDocument>> {
        // A poisoned lock only means a panic elsewhere mid-update; the cache is still usable.
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        memory
            .documents
            .get(hash)
            .map(|(document, _)| Arc::clone(document))
    }

    /// Remembers a document parsed from `text_len` bytes, forgetting the least recently used
    /// ones while the text adds up to more than [`REMEMBERED_BYTES`].
    fn remember(&self, hash: Hash, document: Arc<ExecutableDocument>, text_len: usize) {
        if text_len > REMEMBERED_TEXT {
            return;
        }
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, (_, old))) = memory.documents.push(hash, (document, text_len)) {
            memory.bytes = memory.bytes.saturating_sub(old);
        }
        memory.bytes += text_len;
        while memory.bytes > REMEMBERED_BYTES {
            let Some((_, (_, old))) = memory.documents.pop_lru() else {
                break;
            };
            memory.bytes = memory.bytes.saturating_sub(old);
        }
    }

    /// A request in trusted-documents mode: its document from the manifest (and its hash), or a
    /// refusal.
    fn trusted(trusted: &TrustedDocuments, mut request: Request) -> ServerResult<(Request, Found)> {
        let hash = match request.extensions.remove("persistedQuery") {
            Some(value) => async_graphql::from_value::<PersistedQuery>(value)
                .ok()
                .and_then(|persisted| parse_hash(&persisted.sha256_hash)),
            None => None,
        };
        let (hash, code, message) = match hash {
            Some(hash) => (
                Some(hash),
                "PERSISTED_QUERY_NOT_IN_LIST",
                "this gateway runs only its trusted documents, and this hash is not one",
            ),
            None => (
                (!request.query.is_empty() && request.query.len() <= MAX_DOCUMENT_BYTES)
                    .then(|| Sha256::digest(request.query.as_bytes()).into()),
                "QUERY_NOT_IN_SAFELIST",
                "this gateway runs only its trusted documents, and this query is not one",
            ),
        };
        let (hash, document) = hash
            .and_then(|hash| trusted.0.get_key_value(&hash))
            .ok_or_else(|| error(code, message))?;
        request.set_parsed_query(ExecutableDocument::clone(document));
        let found = Found {
            hash: Some(*hash),
            document: Some(Arc::clone(document)),
        };
        Ok((request, found))
    }

    /// The request with its document parsed (unless it is too long to remember, or does not
    /// parse), and what was found of it; or a refusal.
    fn resolve(&self, request: Request) -> ServerResult<(Request, Found)> {
        if let Some(trusted) = &self.trusted {
            return Self::trusted(trusted, request);
        }
        let mut request = request;
        if request.query.len() > MAX_DOCUMENT_BYTES {
            return Err(error(
                "QUERY_TOO_LARGE",
                &format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes"),
            ));
        }
        if tokens(&request.query, MAX_TOKENS) > MAX_TOKENS {
            return Err(error(
                "TOO_MANY_TOKENS",
                &format!("the document has more than {MAX_TOKENS} tokens"),
            ));
        }
        let Some(value) = request.extensions.remove("persistedQuery") else {
            return Ok(self.plain(request));
        };
        let persisted: PersistedQuery = async_graphql::from_value(value).map_err(|_| {
            error(
                "BAD_USER_INPUT",
                "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<hex>\"}",
            )
        })?;
        if persisted.version != 1 {
            return Err(error(
                "PERSISTED_QUERY_NOT_SUPPORTED",
                "only version 1 of persisted queries is supported",
            ));
        }
        let hash = parse_hash(&persisted.sha256_hash);
        if request.query.is_empty() {
            let (hash, document) = hash
                .and_then(|hash| Some((hash, self.remembered(&hash)?)))
                .ok_or_else(|| error("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound"))?;
            request.set_parsed_query(ExecutableDocument::clone(&document));
            let found = Found {
                hash: Some(hash),
                document: Some(document),
            };
            return Ok((request, found));
        }
        let actual: Hash = Sha256::digest(request.query.as_bytes()).into();
        if hash != Some(actual) {
            return Err(error(
                "PERSISTED_QUERY_HASH_MISMATCH",
                "sha256Hash is not the SHA-256 of the query",
            ));
        }
        let document = match self.remembered(&actual) {
            Some(document) => document,
            None => {
                let document = Arc::new(parse_query(&request.query)?);
                self.remember(actual, Arc::clone(&document), request.query.len());
                document
            }
        };
        request.set_parsed_query(ExecutableDocument::clone(&document));
        let remembered = request.query.len() <= REMEMBERED_TEXT;
        let found = Found {
            hash: remembered.then_some(actual),
            document: Some(document),
        };
        Ok((request, found))
    }

    /// A request with its query text: the remembered document when there is one, and its hash.
    fn plain(&self, mut request: Request) -> (Request, Found) {
        if request.query.is_empty() || request.query.len() > REMEMBERED_TEXT {
            return (request, Found::default());
        }
        let hash: Hash = Sha256::digest(request.query.as_bytes()).into();
        let document = match self.remembered(&hash) {
            Some(document) => document,
            None => match parse_query(&request.query) {
                Ok(document) => {
                    let document = Arc::new(document);
                    self.remember(hash, Arc::clone(&document), request.query.len());
                    document
                }
                Err(_) => return (request, Found::default()),
            },
        };
        request.set_parsed_query(ExecutableDocument::clone(&document));
        let found = Found {
            hash: Some(hash),
            document: Some(document),
        };
        (request, found)
    }

    /// What `operation` found when it passed validation, if it did.
    fn validated(&self, operation: &Operation) -> Option<CacheControl> {
        let mut validated = self.validated.lock().unwrap_or_else(|p| p.into_inner());
        validated.0.get(operation).copied()
    }

    fn remember_valid(&self, operation: Operation, found: CacheControl) {
        let mut validated = self.validated.lock().unwrap_or_else(|p| p.into_inner());
        validated.0.put(operation, found);
    }
}

impl DocumentsOfOneRequest {
    /// What the validation step will do with `request`, whose document is remembered by `hash`
    /// (and so already parsed).
    fn plan(&self, ctx: &ExtensionContext<'_>, request: &mut Request, hash: Hash) -> Validation {
        // Taken out while the document is borrowed, put back below.
        let name = request.operation_name.take();
        let variables = std::mem::take(&mut request.variables);
        let checked = request.parsed_query().ok().and_then(|document| {
            let operation = super::field_order::operation(document, name.as_deref())?;
            Some(super::variables::check(
                &ctx.schema_env.registry,
                operation,
                &variables,
            ))
        });
        request.variables = variables;
        let operation = (hash, name.clone());
        request.operation_name = name;
        match checked {
            Some(Err(refused)) => Validation::Refused(refused),
            // No such operation: validation says so.
            None => Validation::Run,
            Some(Ok(())) => match self.documents.validated(&operation) {
                Some(found) => Validation::Known(found),
                None if operation
                    .1
                    .as_ref()
                    .is_some_and(|name| name.len() > REMEMBERED_NAME) =>
                {
                    Validation::Run
                }
                None => Validation::Remember(operation),
            },
        }
    }
}

impl DocumentsOfOneRequest {
    /// Refuses what may not run; otherwise the request with its document parsed, that document
    /// (shared with the memory) and its validation planned.
    pub(super) fn prepare(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
    ) -> ServerResult<(Request, Option<Arc<ExecutableDocument>>)> {
        let (mut request, found) = self.documents.resolve(request)?;
        if let Some(hash) = found.hash {
            let plan = self.plan(ctx, &mut request, hash);
            *self.validation.lock().unwrap_or_else(|p| p.into_inner()) = plan;
        }
        Ok((request, found.document))
    }

    /// Validation as planned: skipped for an operation that passed it before.
    pub(super) async fn validate(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let plan = std::mem::replace(
            &mut *self.validation.lock().unwrap_or_else(|p| p.into_inner()),
            Validation::Run,
        );
        match plan {
            Validation::Run => next.run(ctx).await,
            Validation::Refused(refused) => Err(vec![refused]),
            // Complexity and depth are the limits' to measure (async-graphql's are not set).
            Validation::Known(cache_control) => Ok(ValidationResult {
                cache_control,
                complexity: 0,
                depth: 0,
            }),
            Validation::Remember(operation) => {
                let result = next.run(ctx).await;
                if let Ok(valid) = &result {
                    self.documents
                        .remember_valid(operation, valid.cache_control);
                }
                result
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_parse_from_hex_of_either_case_only() {
        let hex = "ecf4edb46db40b5132295c0291d62fb65d6759a9eedfa4d5d612dd5ec54a6b38";
        let hash = parse_hash(hex).expect("a valid hash");
        assert_eq!(parse_hash(&hex.to_uppercase()), Some(hash));
        assert_eq!(hash[0], 0xec);
        assert_eq!(parse_hash(&hex[1..]), None);
        assert_eq!(parse_hash(&format!("{}zz", &hex[2..])), None);
    }

    #[test]
    fn a_plain_query_is_remembered_once_parsed() {
        let documents = Documents::default();
        let query = "{ menuItems(first: 1) { edges { node { id } } } }";
        let hash: Hash = Sha256::digest(query.as_bytes()).into();
        assert!(documents.remembered(&hash).is_none());
        let _ = documents.plain(Request::new(query));
        assert!(documents.remembered(&hash).is_some());
    }

    fn manifest(body: &str) -> String {
        let id = hex(&Sha256::digest(body.as_bytes()));
        serde_json::json!({"format": "apollo-persisted-query-manifest", "version": 1,
            "operations": [{"id": id, "name": "Menu", "type": "query", "body": body}]})
        .to_string()
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    fn refusal_code<T>(result: ServerResult<T>) -> String {
        let Err(err) = result else {
            panic!("the request was not refused");
        };
        err.extensions
            .and_then(|ext| ext.get("code").cloned())
            .map(|code| code.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn trusted_mode_runs_only_the_manifest_by_hash_or_text() {
        let body = "query Menu { menuItems(first: 5) { nodes { id } } }";
        let trusted = TrustedDocuments::parse(&manifest(body)).expect("a good manifest");
        assert_eq!(trusted.len(), 1);
        let documents = Documents::new(Some(trusted));
        assert!(documents.resolve(Request::new(body)).is_ok(), "by text");
        let mut by_hash = Request::new("");
        by_hash.extensions.insert(
            "persistedQuery".into(),
            async_graphql::value!({"version": 1, "sha256Hash": hex(&Sha256::digest(body.as_bytes()))}),
        );
        assert!(documents.resolve(by_hash).is_ok(), "by hash");
        let other = "{ menuItems(first: 100) { nodes { id name } } }";
        assert_eq!(
            refusal_code(documents.resolve(Request::new(other))),
            "\"QUERY_NOT_IN_SAFELIST\""
        );
        let mut unknown = Request::new("");
        unknown.extensions.insert(
            "persistedQuery".into(),
            async_graphql::value!({"version": 1, "sha256Hash": "ab".repeat(32)}),
        );
        assert_eq!(
            refusal_code(documents.resolve(unknown)),
            "\"PERSISTED_QUERY_NOT_IN_LIST\""
        );
    }

    #[test]
    fn a_manifest_whose_ids_lie_is_refused() {
        let lying = manifest("{ a }").replace("{ a }", "{ b }");
        assert!(TrustedDocuments::parse(&lying).is_err());
        assert!(TrustedDocuments::parse("{}").is_err());
    }

    #[test]
    fn the_memory_is_bounded_by_its_text() {
        let documents = Documents::default();
        let mut hashes = Vec::new();
        for i in 0..1_000 {
            let query = format!(
                "{{ menuItems(first: {i}) {{ nodes {{ id }} }} }}{}",
                " ".repeat(7_000)
            );
            let hash: Hash = Sha256::digest(query.as_bytes()).into();
            hashes.push(hash);
            let _ = documents.plain(Request::new(query));
        }
        let memory = documents.memory.lock().expect("lock");
        assert!(memory.bytes <= REMEMBERED_BYTES, "{}", memory.bytes);
        assert!(memory.documents.len() < 1_000);
        assert!(memory.documents.contains(&hashes[999]), "the newest stays");
    }

    #[test]
    fn a_query_that_does_not_parse_is_left_to_async_graphql() {
        let documents = Documents::default();
        let query = "{ menuItems(";
        let _ = documents.plain(Request::new(query));
        let hash: Hash = Sha256::digest(query.as_bytes()).into();
        assert!(documents.remembered(&hash).is_none());
    }
}
