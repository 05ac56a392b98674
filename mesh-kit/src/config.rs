//! The database settings every service shares, and the error a setting that parses but cannot be
//! used stops a binary with. Every setting has a default that works on a developer machine, so
//! `cargo run` needs no setup; containers and clusters override them (see [`crate::settings`]).

use crate::settings::Secret;

/// The PostgreSQL server every service uses unless told otherwise (trust auth, local).
pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432";

/// Where the services' databases live: the server and the pool, shared by every service (each
/// adds its own `<SERVICE>_DB_NAME`, parsed with [`database_name`]).
#[derive(Clone, Debug, clap::Args)]
pub struct DatabaseSettings {
    /// The PostgreSQL server, without a database name. TLS as libpq says it:
    /// `?sslmode=verify-full&sslrootcert=/path/ca.pem` (the Mozilla roots without
    /// `sslrootcert`); no `sslmode` is plain text.
    #[arg(long, env = "PG_URL", default_value = DEFAULT_PG_URL, hide_env_values = true)]
    pub pg_url: Secret,
    /// Connections the service's pool keeps open.
    #[arg(long, env = "DB_POOL_SIZE", default_value_t = 8)]
    pub pool_size: u32,
}

impl DatabaseSettings {
    /// The service's database `name` on this server.
    pub fn database(&self, name: String) -> Result<DatabaseConfig, ConfigError> {
        DatabaseConfig::new(self.pg_url.expose(), name, self.pool_size)
    }
}

/// A database name as a setting takes it: lower-case letters, digits and underscores.
pub fn database_name(value: &str) -> Result<String, String> {
    if is_plain_identifier(value) {
        Ok(value.to_owned())
    } else {
        Err("use lower-case letters, digits and underscores (at most 63)".to_owned())
    }
}

/// A setting that is present but unusable. Services exit with this message at start.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?} is invalid: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub value: String,
    pub reason: String,
}

/// Where a service's database lives. Its `Debug` hides the password in the URL.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// Server URL without a database name, as configured, e.g.
    /// `postgres://postgres@127.0.0.1:5432` or `postgres://app:pw@db:5432?sslmode=require`.
    pub server_url: String,
    /// The service's own database, created at start when missing.
    pub name: String,
    /// Connections kept by the pool. Small by default: a service on a laptop shares one server
    /// with four others.
    pub pool_size: u32,
    /// How connections reach the server, from the URL's `sslmode` and `sslrootcert`.
    pub tls: PgTls,
    /// `server_url` split for connecting: before the query, and the query as tokio-postgres
    /// takes it (`sslrootcert` is ours, `verify-*` modes are its `require`).
    base: String,
    query: String,
}

/// TLS to PostgreSQL, as libpq's `sslmode` names it: `require`, `verify-ca` and `verify-full`
/// all mean a TLS connection whose certificate is verified, by host name, against the roots in
/// `sslrootcert` (a PEM file), or the Mozilla roots when none is named. Anything else (no
/// `sslmode`, `disable`, `prefer`, `allow`) connects in plain text, as tonight's local server
/// expects.
#[derive(Clone, Default)]
pub enum PgTls {
    #[default]
    Off,
    Verified(std::sync::Arc<rustls::ClientConfig>),
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("server_url", &redact(&self.server_url))
            .field("name", &self.name)
            .field("pool_size", &self.pool_size)
            .field("tls", &matches!(self.tls, PgTls::Verified(_)))
            .finish()
    }
}

impl DatabaseConfig {
    /// Settings for database `name` on the server `server_url` (`PG_URL`'s form).
    pub fn new(server_url: &str, name: String, pool_size: u32) -> Result<Self, ConfigError> {
        // Checked here too, whoever builds the settings: the name is quoted into CREATE DATABASE.
        if let Err(reason) = database_name(&name) {
            return Err(ConfigError {
                name: "<SERVICE>_DB_NAME".to_owned(),
                value: name,
                reason,
            });
        }
        let server_url = server_url.trim_end_matches('/').to_owned();
        let invalid = |reason: String| ConfigError {
            name: "PG_URL".to_owned(),
            value: redact(&server_url),
            reason,
        };
        let (base, query) = match server_url.split_once('?') {
            Some((base, query)) => (base.trim_end_matches('/').to_owned(), query),
            None => (server_url.clone(), ""),
        };
        let mut params = Vec::new();
        let mut verified = false;
        let mut root_cert = None;
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslrootcert" => root_cert = Some(value.to_owned()),
                "sslmode" => {
                    verified = matches!(value, "require" | "verify-ca" | "verify-full");
                    let mode = if verified { "require" } else { "disable" };
                    params.push(format!("sslmode={mode}"));
                }
                _ => params.push(pair.to_owned()),
            }
        }
        let tls = match (verified, root_cert) {
            (true, root_cert) => PgTls::Verified(std::sync::Arc::new(
                postgres_client_config(root_cert.as_deref()).map_err(invalid)?,
            )),
            (false, Some(_)) => {
                return Err(invalid(
                    "sslrootcert needs sslmode=require (or verify-ca, verify-full)".to_owned(),
                ));
            }
            (false, None) => PgTls::Off,
        };
        Ok(Self {
            server_url,
            name,
            pool_size,
            tls,
            base,
            query: params.join("&"),
        })
    }

    /// The URL of this service's database.
    pub fn url(&self) -> String {
        self.url_of(&self.name)
    }

    /// The URL of the maintenance database, used only to create ours.
    pub fn admin_url(&self) -> String {
        self.url_of("postgres")
    }

    fn url_of(&self, database: &str) -> String {
        match self.query.as_str() {
            "" => format!("{}/{database}", self.base),
            query => format!("{}/{database}?{query}", self.base),
        }
    }
}

pub(crate) fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The TLS settings of a PostgreSQL client: the server's certificate verified, by host name,
/// against the PEM roots in `root_cert`, or the Mozilla roots when none is named.
pub fn postgres_client_config(root_cert: Option<&str>) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::{CertificateDer, pem::PemObject};

    let mut roots = rustls::RootCertStore::empty();
    match root_cert {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|err| format!("cannot read sslrootcert {path}: {err}"))?;
            let (added, _ignored) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!("sslrootcert {path} holds no usable certificate"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|err| err.to_string())
    .map(|builder| builder.with_root_certificates(roots).with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_keep_the_query_after_the_name() {
        let plain = DatabaseConfig::new("postgres://app@db:5432/", "orders".into(), 4).unwrap();
        assert_eq!(plain.url(), "postgres://app@db:5432/orders");
        assert_eq!(plain.admin_url(), "postgres://app@db:5432/postgres");
        assert!(matches!(plain.tls, PgTls::Off));

        let tls = DatabaseConfig::new(
            "postgres://app@db:5432?sslmode=verify-full&connect_timeout=5",
            "orders".into(),
            4,
        )
        .unwrap();
        assert_eq!(
            tls.url(),
            "postgres://app@db:5432/orders?sslmode=require&connect_timeout=5"
        );
        assert!(matches!(tls.tls, PgTls::Verified(_)));
    }

    #[test]
    fn a_root_certificate_needs_a_verifying_mode_and_a_readable_file() {
        let without_mode =
            DatabaseConfig::new("postgres://db:5432?sslrootcert=/ca.pem", "menu".into(), 1);
        assert!(without_mode.unwrap_err().reason.contains("sslmode=require"));
        let missing = DatabaseConfig::new(
            "postgres://db:5432?sslmode=require&sslrootcert=/nonexistent/ca.pem",
            "menu".into(),
            1,
        );
        assert!(missing.unwrap_err().reason.contains("/nonexistent/ca.pem"));
    }

    #[test]
    fn redact_hides_passwords_only() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432"),
            "postgres://app:***@db:5432"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1:5432"),
            "postgres://postgres@127.0.0.1:5432"
        );
    }

    #[test]
    fn database_names_are_plain_identifiers() {
        assert!(is_plain_identifier("menu"));
        assert!(is_plain_identifier("menu_test_0a1b"));
        assert!(!is_plain_identifier(""));
        assert!(!is_plain_identifier("Menu"));
        assert!(!is_plain_identifier("menu; drop"));
        assert!(!is_plain_identifier("1menu"));
    }
}
