//! Long-lived streams per client: a WebSocket or a server-sent-events answer holds backend
//! subscriptions and a task for as long as it stays open, so one client may hold at most
//! [`crate::config::EdgeConfig::max_sockets_per_client`] at once. A [`Held`] counts one until
//! it is dropped (the socket closed, the stream ended or its client went away).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use crate::{
    error::{ApiError, ErrorCode},
    http::edge::Client,
};

/// The open streams of every client; clones share the count.
#[derive(Clone, Debug)]
pub struct Sockets {
    open: Arc<Mutex<HashMap<Client, usize>>>,
    max_per_client: usize,
}

/// One open stream, counted until dropped.
#[derive(Debug)]
pub struct Held {
    sockets: Sockets,
    client: Client,
}

impl Sockets {
    pub fn new(max_per_client: usize) -> Self {
        Self {
            open: Arc::default(),
            max_per_client,
        }
    }

    /// Counts one more stream for `client`, or refuses it (429) when it holds its maximum.
    pub fn hold(&self, client: &Client) -> Result<Held, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(client.clone()).or_default();
        if *count >= self.max_per_client {
            return Err(ApiError::new(
                ErrorCode::ResourceExhausted,
                format!(
                    "{} streams are open for this client already; close one first",
                    self.max_per_client
                ),
            ));
        }
        *count += 1;
        Ok(Held {
            sockets: self.clone(),
            client: client.clone(),
        })
    }

    #[cfg(test)]
    fn count(&self, client: &Client) -> usize {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        open.get(client).copied().unwrap_or_default()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut open = self.sockets.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.client) {
            *count = count.saturating_sub(1);
            // Forgotten at zero, so the map is only as big as the clients holding streams.
            if *count == 0 {
                open.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_holds_at_most_its_maximum_and_gets_them_back_when_closed() {
        let sockets = Sockets::new(2);
        let alice = Client::subject("alice");
        let first = sockets.hold(&alice).expect("first");
        let second = sockets.hold(&alice).expect("second");
        let refused = sockets.hold(&alice).expect_err("third");
        assert_eq!(refused.code, ErrorCode::ResourceExhausted);
        assert!(
            sockets.hold(&Client::subject("bob")).is_ok(),
            "others have their own"
        );
        drop(first);
        assert!(sockets.hold(&alice).is_ok(), "a closed one is given back");
        drop(second);
        assert_eq!(
            sockets.count(&Client::subject("bob")),
            0,
            "forgotten at zero"
        );
    }
}
