//! The OpenAPI 3.1 document of the REST routes, served at `GET /api-docs/openapi.json` and
//! rendered by Swagger UI at `GET /api-docs`.
//!
//! A route served from the contract is documented from the same descriptors ([`derived`]); a
//! hand-written one declares its operation on its handler (`#[utoipa::path]`) with the body,
//! parameter and response types the handler really uses, and the bearer security it needs, so
//! the document cannot drift from the code. What every operation shares is added here, by rule, in
//! [`finish`]: the `x-request-id` header both ways, and the error responses an operation can
//! give by its shape (a path id can be 404, a body can be 413/415, a backend call can be
//! 502/503/504, a secured one 401/403, any one 429), each with the one error body.

use utoipa::{
    Modify, OpenApi,
    openapi::{
        self, ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder,
        path::{Operation, ParameterBuilder, ParameterIn},
        schema::{ObjectBuilder, Schema, SchemaType, Type},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::error::ErrorBody;

mod bounds;
mod derived;

/// The document's fixed parts; the routes add their operations.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mesh gateway REST API",
        description = "The REST face of the food-delivery and movie mesh: menu, orders, \
            deliveries, the movie catalog and billing requests. Every error is \
            `{\"error\": {\"code\", \"message\"}}`; GraphQL at `/graphql` has the same data.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    tags(
        (name = "menu", description = "Menu items (menu-service)"),
        (name = "orders", description = "Orders and their history (order-service)"),
        (name = "delivery", description = "Where an order's delivery is (delivery-service)"),
        (name = "movies", description = "The movie catalog (inventory-service)"),
        (name = "billing", description = "Billing requests, queued on Kafka (billing-service)"),
        (name = "health", description = "Liveness and readiness of the gateway"),
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerScheme)
)]
struct Base;

/// The `bearer` security scheme the secured operations name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, api: &mut openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT with `sub` and `roles` (customer, courier, admin). In \
                         development: `scripts/token admin` prints one.",
                    ))
                    .build(),
            ),
        );
    }
}

pub fn base() -> openapi::OpenApi {
    Base::openapi()
}

/// Request-id header, both ways.
const REQUEST_ID: &str = "x-request-id";

/// Adds the contract's bounds and what every operation shares. Call once on the merged
/// document.
pub fn finish(api: &mut openapi::OpenApi) {
    derived::apply(api);
    bounds::apply(api);
    for item in api.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            decorate(operation);
        }
    }
}

fn decorate(operation: &mut Operation) {
    let has = |operation: &Operation, place: ParameterIn| {
        operation
            .parameters
            .iter()
            .flatten()
            .any(|parameter| match parameter {
                RefOr::T(parameter) => parameter.parameter_in == place,
                RefOr::Ref(_) => false,
            })
    };
    // An optional parameter is absent, never null: a query string or header has no null.
    for parameter in operation.parameters.iter_mut().flatten() {
        if let RefOr::T(parameter) = parameter
            && let Some(RefOr::T(Schema::Object(schema))) = &mut parameter.schema
            && let SchemaType::Array(types) = &schema.schema_type
            && let [only] = types
                .iter()
                .filter(|ty| **ty != Type::Null)
                .collect::<Vec<_>>()
                .as_slice()
        {
            schema.schema_type = SchemaType::Type((*only).clone());
        }
    }

    let has_path = has(operation, ParameterIn::Path);
    let has_query = has(operation, ParameterIn::Query);
    let has_body = operation.request_body.is_some();
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let calls_backends = !operation.tags.iter().flatten().any(|tag| tag == "health");

    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(
            ParameterBuilder::new()
                .name(REQUEST_ID)
                .parameter_in(ParameterIn::Header)
                .description(Some(
                    "Your id for this request (printable ASCII, at most 128 characters); one is \
                     made when absent. Echoed in the response and carried through every \
                     backend call and event.",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        ));

    let mut errors: Vec<(u16, &str)> = Vec::new();
    if has_path || has_query || has_body {
        errors.push((400, "Bad input: the message names the field."));
    }
    if secured {
        errors.push((
            401,
            "No bearer token, or one that does not verify (`WWW-Authenticate: Bearer`).",
        ));
        errors.push((403, "The token's roles do not allow this."));
    }
    if has_path {
        errors.push((404, "No such id (or it is someone else's)."));
    }
    if has_body {
        errors.push((413, "The body is larger than 64 KiB."));
        errors.push((415, "The body is not `application/json`."));
    }
    if calls_backends {
        errors.push((
            502,
            "The connection to the backend broke mid-call; the outcome is unknown.",
        ));
        errors.push((
            503,
            "The backend (or the broker) is down; nothing happened.",
        ));
        errors.push((504, "The backend did not answer in time."));
    }
    errors.push((
        429,
        "Too many requests from this client; `Retry-After` says when to try again.",
    ));
    for (status, description) in errors {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(error_response(status, description)));
    }
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response
                .headers
                .entry(REQUEST_ID.to_owned())
                .or_insert_with(|| {
                    RefOr::T(
                        HeaderBuilder::new()
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .description(Some("The request's id (yours, or the one made for it)."))
                            .build(),
                    )
                });
        }
    }
}

fn error_response(status: u16, description: &str) -> openapi::Response {
    let header = |ty: Type, description: &str| {
        HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(ty)))
            .description(Some(description))
            .build()
    };
    let response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    match status {
        401 => response.header(
            "www-authenticate",
            header(Type::String, "`Bearer realm=\"mesh\"`"),
        ),
        429 => response.header(
            "retry-after",
            header(Type::Integer, "Seconds to wait before the next request."),
        ),
        _ => response,
    }
    .build()
}
