//! TLS for the mesh's gRPC, one set of settings for servers and clients alike:
//!
//! - `GRPC_TLS_CERT`, `GRPC_TLS_KEY`: this process's certificate and key (PEM paths). A service
//!   serves TLS with them; a client (the gateway, order-service's menu client) presents them
//!   when the server asks for a client certificate.
//! - `GRPC_TLS_CA`: the mesh CA (PEM path). Clients trust servers it signed (for `https://`
//!   backend URLs); with `GRPC_TLS_REQUIRE_CLIENT_CERT=true` a server accepts only clients
//!   whose certificate it signed (mutual TLS).
//!
//! Unset, everything is plaintext on loopback, as a laptop needs. `scripts/certs` makes a
//! development CA and a pair per program.

use std::{fs, path::PathBuf};

use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

use crate::config::ConfigError;

/// The mesh's gRPC TLS settings, for a service's server and for every program's clients.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct TlsSettings {
    /// This program's certificate (PEM path): a service serves TLS with it; a client presents it
    /// to a server that asks. Goes with GRPC_TLS_KEY.
    #[arg(long, env = "GRPC_TLS_CERT")]
    pub cert: Option<PathBuf>,
    /// The key of GRPC_TLS_CERT (PEM path).
    #[arg(long, env = "GRPC_TLS_KEY")]
    pub key: Option<PathBuf>,
    /// The mesh CA (PEM path): clients trust the servers it signed (for https:// backend URLs).
    #[arg(long, env = "GRPC_TLS_CA")]
    pub ca: Option<PathBuf>,
    /// Mutual TLS: a server accepts only clients whose certificate GRPC_TLS_CA signed.
    #[arg(long, env = "GRPC_TLS_REQUIRE_CLIENT_CERT", default_value_t = false, action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    pub require_client_cert: bool,
}

impl TlsSettings {
    /// The server's TLS: `None` when no certificate is configured.
    pub fn server(&self) -> Result<Option<ServerTls>, ConfigError> {
        let Some((cert, key)) = self.identity()? else {
            return Ok(None);
        };
        let client_ca = if self.require_client_cert {
            Some(read("GRPC_TLS_CA", self.ca.as_ref())?.ok_or_else(|| {
                ConfigError {
                    name: "GRPC_TLS_CA".to_owned(),
                    value: String::new(),
                    reason: "GRPC_TLS_REQUIRE_CLIENT_CERT=true needs the CA clients must come from"
                        .to_owned(),
                }
            })?)
        } else {
            None
        };
        Ok(Some(ServerTls::new(&cert, &key, client_ca.as_deref())))
    }

    /// The clients' TLS, with this program's certificate as its identity when set: `None`
    /// without a CA.
    pub fn client(&self) -> Result<Option<ClientTls>, ConfigError> {
        let Some(ca) = read("GRPC_TLS_CA", self.ca.as_ref())? else {
            return Ok(None);
        };
        let identity = self.identity()?;
        Ok(Some(ClientTls::new(
            &ca,
            identity
                .as_ref()
                .map(|(cert, key)| (cert.as_slice(), key.as_slice())),
        )))
    }

    /// `GRPC_TLS_CERT` and `GRPC_TLS_KEY`, both or neither.
    fn identity(&self) -> Result<Option<PemPair>, ConfigError> {
        match (
            read("GRPC_TLS_CERT", self.cert.as_ref())?,
            read("GRPC_TLS_KEY", self.key.as_ref())?,
        ) {
            (Some(cert), Some(key)) => Ok(Some((cert, key))),
            (None, None) => Ok(None),
            (Some(_), None) | (None, Some(_)) => Err(ConfigError {
                name: "GRPC_TLS_CERT".to_owned(),
                value: self
                    .cert
                    .as_ref()
                    .map(|path| path.display().to_string())
                    .unwrap_or_default(),
                reason: "GRPC_TLS_CERT and GRPC_TLS_KEY go together".to_owned(),
            }),
        }
    }
}

/// A server's TLS: its identity, and the CA its clients must come from under mutual TLS.
#[derive(Clone, Debug)]
pub struct ServerTls {
    identity: Identity,
    client_ca: Option<Certificate>,
}

impl ServerTls {
    /// From PEM text.
    pub fn new(cert: &[u8], key: &[u8], client_ca: Option<&[u8]>) -> Self {
        Self {
            identity: Identity::from_pem(cert, key),
            client_ca: client_ca.map(Certificate::from_pem),
        }
    }

    /// Whether clients must present a certificate from the mesh CA.
    pub fn requires_client_cert(&self) -> bool {
        self.client_ca.is_some()
    }

    pub fn config(&self) -> ServerTlsConfig {
        let config = ServerTlsConfig::new().identity(self.identity.clone());
        match &self.client_ca {
            Some(ca) => config.client_ca_root(ca.clone()),
            None => config,
        }
    }
}

/// A client's TLS: the CA it trusts, and the identity it shows a server that asks.
#[derive(Clone, Debug)]
pub struct ClientTls {
    ca: Certificate,
    identity: Option<Identity>,
}

impl ClientTls {
    /// From PEM text.
    pub fn new(ca: &[u8], identity: Option<(&[u8], &[u8])>) -> Self {
        Self {
            ca: Certificate::from_pem(ca),
            identity: identity.map(|(cert, key)| Identity::from_pem(cert, key)),
        }
    }

    /// The settings for a connection to `domain` (the name its certificate must carry, which
    /// is the URL's host even when the connection goes to an address it resolved to).
    pub fn config(&self, domain: &str) -> ClientTlsConfig {
        let config = ClientTlsConfig::new()
            .ca_certificate(self.ca.clone())
            .domain_name(domain);
        match &self.identity {
            Some(identity) => config.identity(identity.clone()),
            None => config,
        }
    }
}

/// A certificate and its key, as PEM text.
type PemPair = (Vec<u8>, Vec<u8>);

/// The contents of the file the setting `name` gives; `None` when it gives none.
fn read(name: &str, path: Option<&PathBuf>) -> Result<Option<Vec<u8>>, ConfigError> {
    let Some(path) = path else {
        return Ok(None);
    };
    fs::read(path).map(Some).map_err(|err| ConfigError {
        name: name.to_owned(),
        value: path.display().to_string(),
        reason: format!("cannot read it: {err}"),
    })
}
