//! What the balancer records through the `metrics` facade. Recording is all it does: the binary
//! decides whether an exporter (Prometheus) collects them; with none installed they cost next to
//! nothing.
//!
//! | name | kind | labels | meaning |
//! |---|---|---|---|
//! | `mesh_endpoint_healthy` | gauge | `backend`, `endpoint` | 1 while the endpoint may be chosen, 0 while it is out (and once it left DNS) |
//! | `mesh_endpoint_ejections_total` | counter | `backend`, `endpoint`, `reason` | times it was taken out: `reason` is `failures` (consecutive failed calls), `not_serving` or `unreachable` (health check) |
//! | `mesh_endpoint_readmissions_total` | counter | `backend`, `endpoint` | times a health check answering SERVING brought it back |
//! | `mesh_backend_retries_total` | counter | `backend` | reads sent again to another endpoint after the first failed |
//! | `mesh_backend_circuit_open_total` | counter | `backend` | times the backend's circuit opened (no endpoint left to choose) |

use super::health::EndpointState;

pub const ENDPOINT_HEALTHY: &str = "mesh_endpoint_healthy";
pub const ENDPOINT_EJECTIONS: &str = "mesh_endpoint_ejections_total";
pub const ENDPOINT_READMISSIONS: &str = "mesh_endpoint_readmissions_total";
pub const BACKEND_RETRIES: &str = "mesh_backend_retries_total";
pub const BACKEND_CIRCUIT_OPEN: &str = "mesh_backend_circuit_open_total";

/// Gives each metric its help text. Call once after installing the exporter: descriptions given
/// before a recorder exists are lost.
pub fn describe() {
    ::metrics::describe_gauge!(
        ENDPOINT_HEALTHY,
        "1 while the balancer may send calls to the endpoint, 0 while it is out."
    );
    ::metrics::describe_counter!(
        ENDPOINT_EJECTIONS,
        "Times the endpoint was taken out of rotation, by reason."
    );
    ::metrics::describe_counter!(
        ENDPOINT_READMISSIONS,
        "Times a SERVING health check brought the endpoint back."
    );
    ::metrics::describe_counter!(
        BACKEND_RETRIES,
        "Idempotent calls sent again to another endpoint after the first attempt failed."
    );
    ::metrics::describe_counter!(
        BACKEND_CIRCUIT_OPEN,
        "Times every endpoint of the backend was out, so calls were answered UNAVAILABLE at once."
    );
}

pub(crate) fn endpoint_healthy(backend: &str, endpoint: &str, healthy: bool) {
    ::metrics::gauge!(ENDPOINT_HEALTHY, "backend" => backend.to_owned(), "endpoint" => endpoint.to_owned())
        .set(if healthy { 1.0 } else { 0.0 });
}

pub(crate) fn ejected(backend: &str, endpoint: &str, state: EndpointState) {
    let reason = match state {
        EndpointState::Ejected => "failures",
        EndpointState::NotServing => "not_serving",
        EndpointState::Unreachable => "unreachable",
        // Never a reason to be out; counted under its own name should that change.
        EndpointState::Unknown | EndpointState::Serving => state.as_str(),
    };
    ::metrics::counter!(ENDPOINT_EJECTIONS, "backend" => backend.to_owned(), "endpoint" => endpoint.to_owned(), "reason" => reason)
        .increment(1);
}

pub(crate) fn readmitted(backend: &str, endpoint: &str) {
    ::metrics::counter!(ENDPOINT_READMISSIONS, "backend" => backend.to_owned(), "endpoint" => endpoint.to_owned())
        .increment(1);
}

pub(crate) fn retried(backend: &str) {
    ::metrics::counter!(BACKEND_RETRIES, "backend" => backend.to_owned()).increment(1);
}

pub(crate) fn circuit_opened(backend: &str) {
    ::metrics::counter!(BACKEND_CIRCUIT_OPEN, "backend" => backend.to_owned()).increment(1);
}
