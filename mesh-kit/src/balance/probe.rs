//! The active health check: `grpc.health.v1.Health/Check` with service "" (the whole server) on
//! one endpoint, over the same channel its calls use, so it tests the very connection calls
//! would take.

use std::time::Duration;

use tonic::{Code, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use super::health::Probe;

/// Asks the endpoint whether it serves; no answer within `timeout` is a failure.
pub(crate) async fn check(channel: Channel, timeout: Duration) -> Probe {
    let mut client = HealthClient::new(channel);
    let mut request = tonic::Request::new(HealthCheckRequest {
        service: String::new(),
    });
    // The server stops working on it when we stop waiting.
    request.set_timeout(timeout);
    match tokio::time::timeout(timeout, client.check(request)).await {
        Ok(Ok(response)) => match response.into_inner().status() {
            ServingStatus::Serving => Probe::Serving,
            _ => Probe::NotServing,
        },
        // A server without the health service says nothing either way: count it as serving and
        // let failed calls eject it, as gRPC's own client-side health checking does.
        Ok(Err(status)) if status.code() == Code::Unimplemented => Probe::Serving,
        // The server answers, but does not know the service asked about.
        Ok(Err(status)) if status.code() == Code::NotFound => Probe::NotServing,
        Ok(Err(status)) => {
            tracing::debug!(error = %status, "health check failed");
            Probe::Failed
        }
        Err(_) => Probe::Failed,
    }
}
