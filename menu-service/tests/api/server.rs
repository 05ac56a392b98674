//! What `grpcurl` sees: reflection and health.

use tonic_health::pb::health_check_response::ServingStatus;

use crate::helpers::spawn_app;

#[tokio::test]
async fn lists_its_services_through_reflection() {
    let app = spawn_app().await;
    let services = mesh_testkit::reflected_services(app.served.addr).await;
    for expected in [
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "mesh.menu.v1.MenuService",
    ] {
        assert!(
            services.iter().any(|s| s == expected),
            "{expected} missing from {services:?}"
        );
    }
}

#[tokio::test]
async fn reports_serving_on_health() {
    let app = spawn_app().await;
    assert_eq!(
        mesh_testkit::health(app.served.addr, "").await,
        ServingStatus::Serving
    );
    assert_eq!(
        mesh_testkit::health(app.served.addr, "mesh.menu.v1.MenuService").await,
        ServingStatus::Serving
    );
    app.served.stop().await;
}

#[tokio::test]
async fn lists_only_its_own_services() {
    let app = spawn_app().await;
    let services = mesh_testkit::reflected_services(app.served.addr).await;
    assert!(
        !services
            .iter()
            .any(|s| s.starts_with("mesh.") && s != "mesh.menu.v1.MenuService"),
        "menu-service lists another service: {services:?}"
    );
}
