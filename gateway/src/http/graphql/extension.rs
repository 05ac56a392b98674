//! The gateway's one async-graphql extension, which every operation passes on every transport
//! (POST, GET, SSE, WebSocket): the documents ([`super::documents`]: remembered, persisted or
//! trusted, validated once), the operation limits ([`super::limits`]) and the answer's field
//! order ([`super::field_order`]), each in its own module, run in that order.
//!
//! One extension, not three: async-graphql wraps every hook of every extension in a boxed future
//! of its own, each field's resolver included, whether the extension uses the hook or not.

use std::sync::Arc;

use async_graphql::{
    Request, Response, ServerError, ServerResult, ValidationResult, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextExecute, NextParseQuery,
        NextPrepareRequest, NextRequest, NextValidation,
    },
    parser::types::ExecutableDocument,
};

use super::{
    documents::{Documents, DocumentsOfOneRequest},
    field_order::FieldOrderOfOneRequest,
    limits::{LimitsOfOneRequest, QueryLimits},
};

/// The extension, made once per schema.
pub struct GatewayExtension {
    documents: Documents,
    limits: QueryLimits,
}

impl GatewayExtension {
    pub fn new(documents: Documents, limits: QueryLimits) -> Self {
        Self { documents, limits }
    }
}

impl ExtensionFactory for GatewayExtension {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(OneRequest {
            documents: self.documents.for_request(),
            limits: self.limits.for_request(),
            order: FieldOrderOfOneRequest::default(),
        })
    }
}

/// The extension as it runs for one request.
struct OneRequest {
    documents: DocumentsOfOneRequest,
    limits: LimitsOfOneRequest,
    order: FieldOrderOfOneRequest,
}

#[async_trait::async_trait]
impl Extension for OneRequest {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let response = next.run(ctx).await;
        self.limits.report(response)
    }

    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let (request, document) = self.documents.prepare(ctx, request)?;
        if let Some(document) = document {
            self.order.keep(document);
        }
        self.limits.note(&request);
        next.run(ctx, request).await
    }

    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        self.limits.check(ctx, &document, variables)?;
        self.order.keep_parsed(&document);
        Ok(document)
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        self.documents.validate(ctx, next).await
    }

    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> Response {
        let mut response = next.run(ctx, operation_name).await;
        self.order.order(&mut response, operation_name);
        response
    }
}
