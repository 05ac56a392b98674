//! One endpoint of a backend: an address, the lazily connected channel to it, how many calls are
//! in flight there (the load the picker compares) and its health.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tonic::transport::Channel;

use super::{discovery::Target, health::Health};

/// How the channel to each endpoint is set up.
#[derive(Clone, Debug)]
pub(crate) struct ChannelSettings {
    pub(crate) connect_timeout: Duration,
    /// For `https://` targets: the CA to trust and the identity to show.
    pub(crate) tls: Option<crate::tls::ClientTls>,
}

#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) addr: SocketAddr,
    /// `addr` as the logs and the metrics' `endpoint` label show it.
    pub(crate) label: String,
    pub(crate) channel: Channel,
    in_flight: AtomicUsize,
    health: Mutex<Health>,
    /// Its health-check task, stopped when the endpoint is dropped (gone from DNS, or the
    /// balancer dropped).
    prober: OnceLock<AbortOnDrop>,
}

impl Endpoint {
    /// The endpoint at `addr`, found through `target`. Connects on first use and reconnects by
    /// itself, so a pod that restarts on the same address heals without anyone noticing.
    pub(crate) fn new(
        addr: SocketAddr,
        target: &Target,
        settings: ChannelSettings,
    ) -> Result<Self, tonic::transport::Error> {
        let mut endpoint =
            tonic::transport::Endpoint::from_shared(format!("{}://{addr}", target.scheme))?;
        if target.scheme == "https" {
            // The certificate must name the configured host, not the address it resolved to.
            let domain = target.url.host().unwrap_or_default();
            let tls = match &settings.tls {
                Some(tls) => tls.config(domain),
                None => tonic::transport::ClientTlsConfig::new().domain_name(domain),
            };
            endpoint = endpoint.tls_config(tls)?;
        }
        let channel = endpoint
            // The configured name stays the call's :authority, as with any gRPC client; only
            // the TCP connection goes to this one address.
            .origin(target.url.clone())
            // A dead host fails fast into a failure (and a retry elsewhere) instead of eating the
            // caller's deadline.
            .connect_timeout(settings.connect_timeout)
            .tcp_nodelay(true)
            // Finds a peer that vanished without closing (a node lost) while the connection idles.
            .http2_keep_alive_interval(Duration::from_secs(30))
            .connect_lazy();
        Ok(Self {
            label: addr.to_string(),
            addr,
            channel,
            in_flight: AtomicUsize::new(0),
            health: Mutex::new(Health::new()),
            prober: OnceLock::new(),
        })
    }

    pub(crate) fn health(&self) -> MutexGuard<'_, Health> {
        // A poisoned lock only means a panic elsewhere mid-update; the state is still usable.
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn is_available(&self) -> bool {
        self.health().is_available()
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Counts a call in flight until the guard is dropped (answered, failed or abandoned).
    pub(crate) fn start(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    pub(crate) fn set_prober(&self, task: tokio::task::JoinHandle<()>) {
        let _ = self.prober.set(AbortOnDrop(task.abort_handle()));
    }
}

/// A call in flight at an endpoint.
pub(crate) struct InFlight(Arc<Endpoint>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Stops a background task when its owner goes away.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(pub(crate) tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
