//! Automatic persisted queries, as Apollo clients speak them: a request may carry
//! `extensions.persistedQuery = {version: 1, sha256Hash}` instead of its query text.
//!
//! 1. hash only, unknown hash → error `PERSISTED_QUERY_NOT_FOUND` (message
//!    `PersistedQueryNotFound`, which older clients match on);
//! 2. the client retries with hash + query → the query runs and is remembered under its hash;
//! 3. hash only again → it runs from memory.
//!
//! A hash that does not match its query is `PERSISTED_QUERY_HASH_MISMATCH`. The memory is an LRU
//! of parsed documents per gateway instance: a miss only costs the client one retry.

use std::{
    num::NonZeroUsize,
    sync::{Arc, Mutex},
};

use async_graphql::{
    ErrorExtensionValues, Request, ServerError, ServerResult,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest},
    parser::{parse_query, types::ExecutableDocument},
};
use lru::LruCache;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// How many distinct queries one gateway remembers.
const REMEMBERED: NonZeroUsize = NonZeroUsize::new(2048).expect("non-zero");

/// The extension; clones share one memory.
#[derive(Clone)]
pub struct PersistedQueries {
    memory: Arc<Mutex<LruCache<String, ExecutableDocument>>>,
}

impl Default for PersistedQueries {
    fn default() -> Self {
        Self {
            memory: Arc::new(Mutex::new(LruCache::new(REMEMBERED))),
        }
    }
}

impl ExtensionFactory for PersistedQueries {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[derive(Deserialize)]
struct PersistedQuery {
    version: i32,
    #[serde(rename = "sha256Hash")]
    sha256_hash: String,
}

fn error(code: &str, message: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    let mut extensions = ErrorExtensionValues::default();
    extensions.set("code", code);
    error.extensions = Some(extensions);
    error
}

impl PersistedQueries {
    fn remembered(&self, hash: &str) -> Option<ExecutableDocument> {
        // A poisoned lock only means a panic elsewhere mid-update; the cache is still usable.
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        memory.get(hash).cloned()
    }

    fn remember(&self, hash: String, document: ExecutableDocument) {
        let mut memory = self.memory.lock().unwrap_or_else(|p| p.into_inner());
        memory.put(hash, document);
    }

    fn resolve(&self, mut request: Request) -> ServerResult<Request> {
        let Some(value) = request.extensions.remove("persistedQuery") else {
            return Ok(request);
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
        let hash = persisted.sha256_hash.to_ascii_lowercase();
        if request.query.is_empty() {
            let document = self
                .remembered(&hash)
                .ok_or_else(|| error("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound"))?;
            request.set_parsed_query(document);
            return Ok(request);
        }
        let actual: String = Sha256::digest(request.query.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        if actual != hash {
            return Err(error(
                "PERSISTED_QUERY_HASH_MISMATCH",
                "sha256Hash is not the SHA-256 of the query",
            ));
        }
        let document = parse_query(&request.query)?;
        self.remember(hash, document.clone());
        request.set_parsed_query(document);
        Ok(request)
    }
}

#[async_trait::async_trait]
impl Extension for PersistedQueries {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = self.resolve(request)?;
        next.run(ctx, request).await
    }
}
