//! The operation limits of edge-rules (`edge_rules::graphql`: depth, complexity with no free
//! shapes, aliases, root fields, mutations, directives, `_entities`, introspection, and the text
//! rule on every argument and variable), as the gateway's extension ([`super::extension`]) runs
//! them: checked once the document is parsed and before anything runs, refused with the limit's
//! code.
//!
//! A client that sends `extensions: {"cost": true}` gets the measured cost back in the
//! response's `extensions.cost` (`{"complexity", "depth", "aliases", "rootFields"}`).
//!
//! async-graphql's own `limit_depth` counts introspection too, which refused GraphiQL's schema
//! query; that is why these limits are ours.

use std::{
    collections::HashSet,
    sync::{Arc, OnceLock},
};

use async_graphql::{
    Request, Response, ServerResult, Variables, extensions::ExtensionContext,
    parser::types::ExecutableDocument,
};
use async_graphql_value::ConstValue;
use edge_rules::graphql::{self, Measured};

pub use edge_rules::graphql::list_fields;

/// Marks a request that came by `GET`: it may only read (GraphQL over HTTP).
#[derive(Clone, Copy, Debug)]
pub struct ReadOnly;

/// The code of a mutation or subscription sent by `GET` (answered 405).
pub const NOT_A_QUERY: &str = "METHOD_NOT_ALLOWED";

/// The limits of every request.
#[derive(Clone, Debug)]
pub struct QueryLimits {
    /// Whether `__schema` and `__type` may be asked at all.
    pub introspection: bool,
    /// The schema's list fields, filled once the schema is built ([`list_fields`]).
    pub lists: Arc<OnceLock<HashSet<String>>>,
}

impl QueryLimits {
    /// The part of one request's extension ([`super::extension`]) that is the limits'.
    pub(super) fn for_request(&self) -> LimitsOfOneRequest {
        LimitsOfOneRequest {
            limits: self.clone(),
            report: std::sync::atomic::AtomicBool::new(false),
            cost: std::sync::Mutex::new(None),
        }
    }
}

/// The limits as they run for one request: whether it asked for its cost, and what it cost.
pub(super) struct LimitsOfOneRequest {
    limits: QueryLimits,
    report: std::sync::atomic::AtomicBool,
    cost: std::sync::Mutex<Option<Measured>>,
}

impl LimitsOfOneRequest {
    /// Notes whether the request asked for its cost (`extensions: {"cost": true}`).
    pub(super) fn note(&self, request: &Request) {
        let asked = request
            .extensions
            .get("cost")
            .is_some_and(|value| matches!(value, ConstValue::Boolean(true)));
        self.report
            .store(asked, std::sync::atomic::Ordering::Relaxed);
    }

    /// Refuses a parsed document that breaks a limit, or that writes when the request came by
    /// `GET`.
    pub(super) fn check(
        &self,
        ctx: &ExtensionContext<'_>,
        document: &ExecutableDocument,
        variables: &Variables,
    ) -> ServerResult<()> {
        if ctx.data_opt::<ReadOnly>().is_some() {
            let writes = document.operations.iter().find(|(_, operation)| {
                operation.node.ty != async_graphql::parser::types::OperationType::Query
            });
            if let Some((_, operation)) = writes {
                return Err(super::coded_error(
                    NOT_A_QUERY,
                    "GET runs queries only; send mutations and subscriptions with POST",
                    Some(operation.pos),
                ));
            }
        }
        let empty = HashSet::new();
        let lists = self.limits.lists.get().unwrap_or(&empty);
        let measured = graphql::check_with(document, variables, self.limits.introspection, lists)
            .map_err(|refused| {
            super::coded_error(refused.code, refused.message, Some(refused.pos))
        })?;
        *self.cost.lock().unwrap_or_else(|p| p.into_inner()) = Some(measured);
        Ok(())
    }

    /// The response, with its measured cost when the request asked for it.
    pub(super) fn report(&self, response: Response) -> Response {
        if !self.report.load(std::sync::atomic::Ordering::Relaxed) {
            return response;
        }
        let measured = *self.cost.lock().unwrap_or_else(|p| p.into_inner());
        match measured {
            Some(measured) => response.extension(
                "cost",
                async_graphql::value!({
                    "complexity": measured.complexity,
                    "depth": measured.depth,
                    "aliases": measured.aliases,
                    "rootFields": measured.root_fields,
                }),
            ),
            None => response,
        }
    }
}
