//! TLS between the mesh's programs: a balanced client speaks TLS to `https://` backends, and a
//! server requiring client certificates (mutual TLS) refuses a client without one from the mesh
//! CA.

use mesh_kit::{
    balance::Balancer,
    grpc::{GrpcServer, ServeConfig},
    tls::{ClientTls, ServerTls},
};
use mesh_testkit::{Served, certs::TestCa};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::support::{backend, config};

/// A gRPC server (health only) on a free port, serving mutual TLS with a certificate from `ca`.
async fn mutual_tls_server(ca: &TestCa) -> Served {
    let leaf = ca.issue(&["localhost"]);
    let tls = ServerTls::new(
        leaf.cert.as_bytes(),
        leaf.key.as_bytes(),
        Some(ca.pem().as_bytes()),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    Served::spawn(addr, |stop| {
        GrpcServer::new()
            .with(&ServeConfig {
                tls: Some(tls),
                ..ServeConfig::default()
            })
            .serve(listener, stop.wait())
    })
}

async fn check(balancer: &Balancer) -> Result<i32, tonic::Status> {
    HealthClient::new(balancer.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|response| response.into_inner().status)
}

#[tokio::test]
async fn a_client_with_a_mesh_certificate_is_served_over_mutual_tls() {
    let ca = TestCa::new();
    let server = mutual_tls_server(&ca).await;
    let client = ca.issue(&["gateway"]);
    let mut settings = config(60_000);
    settings.tls = Some(ClientTls::new(
        ca.pem().as_bytes(),
        Some((client.cert.as_bytes(), client.key.as_bytes())),
    ));
    // By name: the certificate names localhost, not the address it resolves to.
    let url = format!("https://localhost:{}", server.addr.port());
    let balancer = Balancer::new(&backend("mtls-ok"), &[url], settings).expect("balancer");
    assert_eq!(
        check(&balancer).await.map_err(|s| s.code()),
        Ok(1),
        "SERVING"
    );
}

#[tokio::test]
async fn a_mutual_tls_server_refuses_a_client_without_a_certificate() {
    let ca = TestCa::new();
    let server = mutual_tls_server(&ca).await;
    let url = format!("https://localhost:{}", server.addr.port());

    // TLS, trusting the CA, but no client certificate.
    let mut anonymous = config(60_000);
    anonymous.tls = Some(ClientTls::new(ca.pem().as_bytes(), None));
    let balancer = Balancer::new(&backend("mtls-anon"), std::slice::from_ref(&url), anonymous)
        .expect("balancer");
    assert!(
        check(&balancer).await.is_err(),
        "no client certificate, no answer"
    );

    // A certificate from another CA.
    let stranger = TestCa::new().issue(&["gateway"]);
    let mut foreign = config(60_000);
    foreign.tls = Some(ClientTls::new(
        ca.pem().as_bytes(),
        Some((stranger.cert.as_bytes(), stranger.key.as_bytes())),
    ));
    let balancer = Balancer::new(&backend("mtls-foreign"), &[url], foreign).expect("balancer");
    assert!(
        check(&balancer).await.is_err(),
        "a stranger's certificate, no answer"
    );

    // Plaintext.
    let plain = format!("http://localhost:{}", server.addr.port());
    let balancer =
        Balancer::new(&backend("mtls-plain"), &[plain], config(60_000)).expect("balancer");
    assert!(check(&balancer).await.is_err(), "plaintext, no answer");
}
