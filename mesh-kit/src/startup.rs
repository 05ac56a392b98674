//! What every service's `main` does around its `Application`: tracing first, then build and run,
//! and on failure one clear line and exit code 1 instead of a panic.

use std::{fmt::Display, process::ExitCode};

#[cfg(feature = "db")]
use crate::db::DbSetupError;
use crate::{
    config::ConfigError,
    grpc::{ServeConfig, ServeError},
    telemetry::LogSettings,
    tls::TlsSettings,
};

/// What every service reads besides its own settings: its logs, its admin port and its TLS.
#[derive(Clone, Debug, clap::Args)]
pub struct ServiceSettings {
    #[command(flatten)]
    pub log: LogSettings,
    /// Where `GET /metrics` is served; unset, the gRPC port + 1000 on the same address.
    #[arg(long, env = "METRICS_ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub tls: TlsSettings,
}

impl ServiceSettings {
    /// How the service's gRPC server is served.
    pub fn serve(&self) -> Result<ServeConfig, ConfigError> {
        Ok(ServeConfig {
            tls: self.tls.server()?,
            metrics_addr: self.metrics_addr,
        })
    }
}

/// Why a service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[cfg(feature = "db")]
    #[error(transparent)]
    Database(#[from] DbSetupError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// Something the service runs besides its server failed to start (its broker clients).
    #[error(transparent)]
    Component(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error("{0}")]
    Other(String),
}

impl StartupError {
    /// A failure of one of the service's components.
    pub fn component(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Component(err.into())
    }
}

/// Binds `addr`, naming it in the error when it is taken.
pub async fn bind(addr: std::net::SocketAddr) -> Result<tokio::net::TcpListener, StartupError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| StartupError::Bind { addr, source })
}

/// Runs a service: installs tracing as `log` says, builds a multi-threaded runtime, awaits
/// `run`. Used as the whole body of each binary's `main`, after its settings are read.
pub fn run_service<F, E>(name: &'static str, log: &LogSettings, run: impl FnOnce() -> F) -> ExitCode
where
    F: Future<Output = Result<(), E>>,
    E: Display,
{
    crate::telemetry::init(name, log);
    crate::metrics::install();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            tracing::error!(service = name, error = %err, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(run()) {
        Ok(()) => {
            tracing::info!(service = name, "stopped");
            ExitCode::SUCCESS
        }
        Err(err) => {
            tracing::error!(service = name, error = %err, "service failed");
            ExitCode::FAILURE
        }
    };
    crate::telemetry::shutdown();
    code
}

/// What an event-sourced service binary is asked to do besides serving (its default).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Rewrite the read model from the event table, then exit.
    RebuildProjection,
}

/// One stop signal fanned out to every part of a service: its server, relay and consumers.
#[derive(Clone, Debug)]
pub struct StopSignal(tokio::sync::watch::Receiver<bool>);

/// A stop signal and the sender that fires it, for tasks outside a [`Service`].
pub fn stop_channel() -> (tokio::sync::watch::Sender<bool>, StopSignal) {
    let (sender, receiver) = tokio::sync::watch::channel(false);
    (sender, StopSignal(receiver))
}

impl StopSignal {
    /// Resolves once the service is asked to stop.
    pub async fn wait(mut self) {
        // An error means the sender is gone, which also means stop.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// A service's gRPC server with the background tasks that live as long as it: the outbox relay
/// and the event consumers. They start together and stop together.
pub struct Service {
    listener: tokio::net::TcpListener,
    server: crate::grpc::GrpcServer,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

impl Service {
    pub fn new(listener: tokio::net::TcpListener, server: crate::grpc::GrpcServer) -> Self {
        Self {
            listener,
            server,
            stop: tokio::sync::watch::channel(false).0,
            tasks: tokio::task::JoinSet::new(),
        }
    }

    /// The signal a task gets, for tasks started elsewhere.
    pub fn stop_signal(&self) -> StopSignal {
        StopSignal(self.stop.subscribe())
    }

    /// Starts `task` now; it gets the signal to stop with the server.
    pub fn spawn<F>(&mut self, task: impl FnOnce(StopSignal) -> F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let future = task(self.stop_signal());
        self.tasks.spawn(future);
    }

    /// Serves until `shutdown` resolves, then stops every task and waits for them: a consumer
    /// finishes the record in hand, the relay its round.
    pub async fn run_until_stopped(
        mut self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let stop = self.stop.clone();
        let trigger = tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let served = self
            .server
            .serve(self.listener, StopSignal(self.stop.subscribe()).wait())
            .await;
        // The server may also stop on its own (an error): the tasks stop with it.
        let _ = self.stop.send(true);
        trigger.abort();
        while let Some(result) = self.tasks.join_next().await {
            if let Err(err) = result {
                tracing::error!(error = %err, "background task failed");
            }
        }
        Ok(served?)
    }
}
