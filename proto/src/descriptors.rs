//! The contracts as data: the descriptor set protoc wrote, decoded once, with the options the
//! `.proto` files carry (`google.api.http` on each RPC that has a REST route, and our own
//! `mesh.api.v1.route` saying how the gateway serves it).

use std::sync::LazyLock;

use prost_reflect::{DescriptorPool, FieldDescriptor, MessageDescriptor, MethodDescriptor, Value};

pub use crate::words::{comment, enum_names, enum_prefix, path_variables};
use crate::{FILE_DESCRIPTOR_SET, api::v1 as api};

static POOL: LazyLock<Result<DescriptorPool, String>> =
    LazyLock::new(|| DescriptorPool::decode(FILE_DESCRIPTOR_SET).map_err(|err| err.to_string()));

/// Every file of the mesh and what they import; an error only if the embedded set is broken.
pub fn pool() -> Result<&'static DescriptorPool, &'static str> {
    POOL.as_ref().map_err(String::as_str)
}

/// The descriptor of the message `M`, if it is in the contract.
pub fn message_of<M: prost::Name>() -> Option<MessageDescriptor> {
    pool().ok()?.get_message_by_name(&M::full_name())
}

/// A REST route an RPC declares with `google.api.http`.
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRoute {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The path template, variables named by request fields: `/orders/{id}`.
    pub path: String,
    /// `*` when the body is the request message (less the path's fields); empty for none.
    pub body: String,
    /// The answer's field that is the response body (`items`: a bare array); empty for the
    /// whole answer.
    pub response_body: String,
    /// `mesh.order.v1.OrderService.GetOrder`.
    pub rpc: String,
    /// The RPC's request message, whose fields the path, query and body fill.
    pub request: MessageDescriptor,
    /// The RPC itself: its service, input and output.
    pub method_descriptor: MethodDescriptor,
    /// How the gateway serves it (`mesh.api.v1.route`); `None` while a hand-written handler
    /// still serves the route.
    pub serving: Option<api::Route>,
    /// The service's OpenAPI tag (`mesh.api.v1.tag`); empty when it has none.
    pub tag: String,
}

/// The `google.api.http` route of every mesh RPC that has one, in file order.
pub fn http_routes() -> Result<Vec<HttpRoute>, &'static str> {
    let pool = pool()?;
    let Some(extension) = pool.get_extension_by_name("google.api.http") else {
        return Ok(Vec::new());
    };
    let route_option = pool.get_extension_by_name("mesh.api.v1.route");
    let tag_option = pool.get_extension_by_name("mesh.api.v1.tag");
    let mut routes = Vec::new();
    for service in pool.services() {
        let tag = tag_option
            .as_ref()
            .filter(|tag| service.options().has_extension(tag))
            .and_then(|tag| {
                service
                    .options()
                    .get_extension(tag)
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        for method in service.methods() {
            let options = method.options();
            if !options.has_extension(&extension) {
                continue;
            }
            let Value::Message(rule) = options.get_extension(&extension).into_owned() else {
                continue;
            };
            let serving = route_option
                .as_ref()
                .filter(|route| options.has_extension(route))
                .and_then(|route| match options.get_extension(route).into_owned() {
                    Value::Message(route) => route.transcode_to::<api::Route>().ok(),
                    _ => None,
                })
                .filter(|route| route.access() != api::Access::Unspecified);
            let text = |name: &str| {
                rule.get_field_by_name(name)
                    .and_then(|value| value.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            let verbs = [
                ("get", "GET"),
                ("put", "PUT"),
                ("post", "POST"),
                ("patch", "PATCH"),
                ("delete", "DELETE"),
            ];
            for (field, method_name) in verbs {
                if rule.has_field_by_name(field) {
                    routes.push(HttpRoute {
                        method: method_name,
                        path: text(field),
                        body: text("body"),
                        response_body: text("response_body"),
                        rpc: method.full_name().to_owned(),
                        request: method.input(),
                        method_descriptor: method.clone(),
                        serving: serving.clone(),
                        tag: tag.clone(),
                    });
                }
            }
        }
    }
    Ok(routes)
}

/// Whether `field` is `optional` in a proto3 file: absent and empty are different.
pub fn is_proto3_optional(field: &FieldDescriptor) -> bool {
    field
        .containing_oneof()
        .is_some_and(|oneof| oneof.is_synthetic())
}

/// Whether only the gateway sets `field`: true for an admin caller, never from a client
/// (`mesh.api.v1.admin_override`).
pub fn admin_override(field: &FieldDescriptor) -> bool {
    flag(field, "mesh.api.v1.admin_override")
}

/// Whether `field` is the read mask only GraphQL's look-ahead fills, never a REST client
/// (`mesh.api.v1.look_ahead`).
pub fn look_ahead(field: &FieldDescriptor) -> bool {
    flag(field, "mesh.api.v1.look_ahead")
}

/// Whether `field` carries the boolean option `extension`, set.
fn flag(field: &FieldDescriptor, extension: &str) -> bool {
    let Some(option) = field.parent_pool().get_extension_by_name(extension) else {
        return false;
    };
    let options = field.options();
    options.has_extension(&option) && options.get_extension(&option).as_bool() == Some(true)
}

/// How many of `message`'s fields a request must set, at least (`mesh.api.v1.min_fields`); 0
/// when it says nothing.
pub fn min_fields(message: &MessageDescriptor) -> u32 {
    let Some(option) = message
        .parent_pool()
        .get_extension_by_name("mesh.api.v1.min_fields")
    else {
        return 0;
    };
    let options = message.options();
    if !options.has_extension(&option) {
        return 0;
    }
    options.get_extension(&option).as_u32().unwrap_or(0)
}

/// A path template without its variables' names (`/orders/{}/cancel` for
/// `/orders/{id}/cancel`): OpenAPI names them for users (`order_id`), the annotation by the
/// request field (`id`), and the two are the same route.
pub fn path_shape(path: &str) -> String {
    let mut shape = String::with_capacity(path.len());
    let mut in_variable = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_variable = true;
                shape.push_str("{}");
            }
            '}' => in_variable = false,
            c if !in_variable => shape.push(c),
            _ => {}
        }
    }
    shape
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpcs_declare_their_rest_routes() {
        let routes = http_routes().expect("the descriptor set decodes");
        let get_order = routes
            .iter()
            .find(|route| route.rpc == "mesh.order.v1.OrderService.GetOrder")
            .expect("GetOrder has a route");
        assert_eq!(
            (get_order.method, get_order.path.as_str()),
            ("GET", "/orders/{order_id}")
        );
        let create = routes
            .iter()
            .find(|route| route.rpc == "mesh.menu.v1.MenuService.CreateMenuItem")
            .expect("CreateMenuItem has a route");
        assert_eq!(create.body, "*");
        assert!(
            !routes.iter().any(|route| route.rpc.contains("BatchGet")),
            "batch calls are for the gateway, not REST"
        );
    }
}
