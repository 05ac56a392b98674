//! PostgreSQL over TLS against the machine's real server, which serves TLS with Debian's
//! snakeoil certificate (issued to `localhost`): `sslmode=require` with that certificate as
//! `sslrootcert` connects encrypted, migrations and pool included; without it, the server's
//! certificate is not trusted and the service refuses to start.

use diesel::{
    QueryableByName,
    sql_types::{Bool, Text},
};
use diesel_async::RunQueryDsl;
use mesh_events::event_store;
use mesh_kit::{
    config::DatabaseConfig,
    db::{self, DbSetupError},
};

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    setting: String,
}

#[derive(QueryableByName)]
struct Encrypted {
    #[diesel(sql_type = Bool)]
    ssl: bool,
}

/// The test server's URL, by the name its certificate carries.
fn server_by_name() -> String {
    mesh_testkit::pg_url().replace("127.0.0.1", "localhost")
}

/// Where the server keeps its certificate (`ssl_cert_file`), asked over a plain connection.
async fn server_certificate() -> String {
    let plain = mesh_testkit::database("pgtls");
    let pool = db::connect(&plain, &[]).await.expect("plain connection");
    let mut conn = pool.get().await.expect("connection");
    let on: Setting = diesel::sql_query("SELECT current_setting('ssl') AS setting")
        .get_result(&mut conn)
        .await
        .expect("ssl setting");
    assert_eq!(
        on.setting, "on",
        "the test server must serve TLS (Debian's PostgreSQL does, with its snakeoil certificate)"
    );
    let file: Setting = diesel::sql_query("SELECT current_setting('ssl_cert_file') AS setting")
        .get_result(&mut conn)
        .await
        .expect("ssl_cert_file");
    file.setting
}

#[tokio::test]
async fn sslmode_require_connects_encrypted_and_verified() {
    mesh_testkit::init_tracing();
    let cert = server_certificate().await;
    let name = mesh_testkit::database("pgtls").name;
    let url = format!("{}?sslmode=require&sslrootcert={cert}", server_by_name());
    let config = DatabaseConfig::new(&url, name, 2).expect("settings");

    // Creating the database, migrating it and pooling all go through TLS.
    let pool = db::connect(&config, &[&event_store::MIGRATIONS])
        .await
        .expect("a TLS connection verified against the server's certificate");
    let mut conn = pool.get().await.expect("pooled connection");
    let row: Encrypted =
        diesel::sql_query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .get_result(&mut conn)
            .await
            .expect("pg_stat_ssl");
    assert!(row.ssl, "the pooled connection is not encrypted");
}

#[tokio::test]
async fn a_certificate_the_roots_do_not_vouch_for_is_refused() {
    mesh_testkit::init_tracing();
    // No sslrootcert: the Mozilla roots, which never signed a snakeoil certificate.
    let name = mesh_testkit::database("pgtls").name;
    let url = format!("{}?sslmode=verify-full", server_by_name());
    let config = DatabaseConfig::new(&url, name, 2).expect("settings");

    match db::connect(&config, &[]).await {
        Err(DbSetupError::Connect { reason, .. }) => assert!(
            reason.to_lowercase().contains("certificate"),
            "refused for another reason: {reason}"
        ),
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("connected to a server whose certificate nothing vouches for"),
    }
}
