//! Builds the gateway on its backends (the state, [`http::router`]) and serves it until told
//! to stop.

use std::{net::SocketAddr, sync::Arc};

use mesh_kit::startup::{self, StartupError};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::{
    auth::{Auth, Verifier},
    backends::Backends,
    billing_queue::BillingQueue,
    config::{Config, EdgeConfig, TlsFiles, TokenKeys},
    feed::OrderFeed,
    http::{
        self, AppState, SharedState,
        edge::{self, rate_limit::RateLimits, sockets::Sockets},
        graphql,
    },
    metrics,
};

/// A gateway that is bound, ready to serve.
pub struct Application {
    listener: TcpListener,
    addr: SocketAddr,
    router: http::HttpService,
    feed: OrderFeed,
    kafka: mesh_kafka::KafkaConfig,
    tls: Option<TlsAcceptor>,
    edge: EdgeConfig,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        metrics::describe();
        let verifier = match &config.auth.keys {
            TokenKeys::Secret(secret) => Verifier::secret(secret),
            TokenKeys::Jwks(url) => Verifier::jwks(url.clone()).map_err(StartupError::Other)?,
        }
        .with_rules(config.auth.claims.clone());
        let auth = Auth {
            verifier,
            dev_login: config.auth.dev_login,
        };
        let tls = match &config.tls {
            Some(files) => Some(tls_acceptor(files)?),
            None => None,
        };
        let backends = Backends::connect(
            &config.backends,
            config.balance.clone(),
            config.backend_timeout,
            config.menu_item_ttl,
        )
        .map_err(|err| StartupError::Other(err.to_string()))?;
        let trusted = match &config.trusted_documents {
            Some(path) => Some(trusted_documents(path)?),
            None => None,
        };
        let feed = OrderFeed::new(config.graphql.feed_rest);
        let billing =
            Arc::new(BillingQueue::new(config.kafka.clone()).map_err(StartupError::component)?);
        let backends_metrics = backends.metrics().clone();
        let state = AppState::new(SharedState {
            schema: graphql::schema(
                backends.clone(),
                feed.clone(),
                billing.clone(),
                config.graphql,
                trusted,
            ),
            backends,
            billing,
            feed: feed.clone(),
            graphql: config.graphql,
            auth,
            limits: RateLimits::new(&config.rate_limit, backends_metrics.clone()),
            sockets: Sockets::new(config.edge.max_sockets_per_client),
            edge: config.edge,
        });
        let router = http::router(state, &config);
        let listener = startup::bind(config.addr).await?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: config.addr,
            source,
        })?;
        tracing::info!(
            %addr,
            scheme = if tls.is_some() { "https" } else { "http" },
            tokens = ?config.auth.keys,
            dev_login = config.auth.dev_login,
            "gateway listening"
        );
        Ok(Self {
            listener,
            addr,
            router,
            feed,
            kafka: config.kafka,
            tls,
            edge: config.edge,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let (stop, stopped) = mesh_kit::startup::stop_channel();
        let feed = tokio::spawn(self.feed.run(self.kafka, stopped.clone()));
        let trigger = tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        edge::serve::serve(
            self.listener,
            self.router,
            self.tls,
            self.edge,
            stopped.wait(),
        )
        .await;
        trigger.abort();
        let _ = feed.await;
        Ok(())
    }
}

/// The trusted documents, read and checked at start: a bad manifest fails the start.
fn trusted_documents(
    path: &std::path::Path,
) -> Result<graphql::documents::TrustedDocuments, StartupError> {
    let failed = |err: &dyn std::fmt::Display| {
        StartupError::Other(format!(
            "GATEWAY_GRAPHQL_TRUSTED_DOCUMENTS {}: {err}",
            path.display()
        ))
    };
    let text = std::fs::read_to_string(path).map_err(|err| failed(&err))?;
    let trusted = graphql::documents::TrustedDocuments::parse(&text).map_err(|err| failed(&err))?;
    tracing::info!(
        documents = trusted.len(),
        "GraphQL runs trusted documents only"
    );
    Ok(trusted)
}

/// The certificate and key, read and checked at start so a bad file fails the start, not the
/// first client.
fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, StartupError> {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    // One crypto provider for every rustls user in the process (ring; no aws-lc build).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let failed = |err: &dyn std::fmt::Display| {
        StartupError::Other(format!(
            "GATEWAY_TLS_CERT {} / GATEWAY_TLS_KEY {}: {err}",
            files.cert.display(),
            files.key.display()
        ))
    };
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|err| failed(&err))?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|err| failed(&err))?;
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|err| failed(&err))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
