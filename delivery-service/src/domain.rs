//! The delivery aggregate: its lifecycle and the one event that moves it. Pure: no I/O, no wire
//! types. State is the fold of events ([`Delivery::apply`]); commands decide which event, if
//! any, a request produces.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Where a delivery is in its life.
///
/// `PENDING → ASSIGNED → PICKED_UP → IN_TRANSIT → DELIVERED`, and `FAILED` from any state that
/// is not final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Pending,
    Assigned,
    PickedUp,
    InTransit,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::Assigned,
        Self::PickedUp,
        Self::InTransit,
        Self::Delivered,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Assigned => "ASSIGNED",
            Self::PickedUp => "PICKED_UP",
            Self::InTransit => "IN_TRANSIT",
            Self::Delivered => "DELIVERED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }

    /// Nothing moves a delivery out of a final state.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed)
    }

    /// Whether the lifecycle allows moving from `self` to `next`.
    pub fn can_move_to(self, next: Self) -> bool {
        use DeliveryStatus::*;
        match (self, next) {
            (_, Failed) => !self.is_final(),
            (Pending, Assigned)
            | (Assigned, PickedUp)
            | (PickedUp, InTransit)
            | (InTransit, Delivered) => true,
            _ => false,
        }
    }
}

impl std::fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move the lifecycle does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot move the delivery of order {order_id} from {from} to {to}")]
pub struct IllegalTransition {
    pub order_id: Uuid,
    pub from: DeliveryStatus,
    pub to: DeliveryStatus,
}

/// The one thing that happens to a delivery: its status changes. `from` is `None` for the
/// event that opens it, which alone says where the order goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusChanged {
    pub from: Option<DeliveryStatus>,
    pub to: DeliveryStatus,
    pub courier: Option<String>,
    pub note: Option<String>,
    pub delivery_address: Option<String>,
}

/// A delivery: the fold of its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub order_id: Uuid,
    pub status: DeliveryStatus,
    pub courier: Option<String>,
    pub delivery_address: String,
    /// The sequence of the last event applied.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Delivery {
    /// The event that opens the delivery of a paid order.
    pub fn open(delivery_address: &str) -> StatusChanged {
        StatusChanged {
            from: None,
            to: DeliveryStatus::Pending,
            courier: None,
            note: Some("order paid".to_owned()),
            delivery_address: Some(delivery_address.to_owned()),
        }
    }

    /// The delivery its opening event makes; `None` for any other event.
    pub fn opened(order_id: Uuid, event: &StatusChanged, at: DateTime<Utc>) -> Option<Self> {
        if event.from.is_some() {
            return None;
        }
        Some(Self {
            order_id,
            status: event.to,
            courier: event.courier.clone(),
            delivery_address: event.delivery_address.clone().unwrap_or_default(),
            version: 1,
            created_at: at,
            updated_at: at,
        })
    }

    /// Decides the event a move to `to` produces. Asking for the status the delivery already
    /// has changes nothing (`None`), so a retried request is harmless.
    pub fn move_to(
        &self,
        to: DeliveryStatus,
        courier: Option<&str>,
        note: Option<&str>,
    ) -> Result<Option<StatusChanged>, IllegalTransition> {
        if to == self.status {
            return Ok(None);
        }
        if !self.status.can_move_to(to) {
            return Err(IllegalTransition {
                order_id: self.order_id,
                from: self.status,
                to,
            });
        }
        Ok(Some(StatusChanged {
            from: Some(self.status),
            to,
            courier: courier.map(str::to_owned),
            note: note.map(str::to_owned),
            delivery_address: None,
        }))
    }

    /// The order was cancelled: a delivery still under way fails; a final one stays as it is.
    pub fn cancel(&self, reason: &str) -> Option<StatusChanged> {
        let note = if reason.trim().is_empty() {
            "order cancelled".to_owned()
        } else {
            format!("order cancelled: {}", reason.trim())
        };
        self.move_to(DeliveryStatus::Failed, None, Some(&note))
            .ok()
            .flatten()
    }

    /// Applies an event that follows the current state.
    pub fn apply(&mut self, event: &StatusChanged, at: DateTime<Utc>) {
        self.status = event.to;
        if let Some(courier) = &event.courier {
            self.courier = Some(courier.clone());
        }
        self.version += 1;
        self.updated_at = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryStatus::*;

    fn delivery(status: DeliveryStatus) -> Delivery {
        Delivery {
            status,
            ..Delivery::opened(Uuid::nil(), &Delivery::open("1 Main St"), Utc::now())
                .expect("the opening event opens")
        }
    }

    #[test]
    fn the_lifecycle_moves_one_step_at_a_time() {
        let path = [Pending, Assigned, PickedUp, InTransit, Delivered];
        for pair in path.windows(2) {
            assert!(pair[0].can_move_to(pair[1]), "{} → {}", pair[0], pair[1]);
        }
        assert!(!Pending.can_move_to(PickedUp));
        assert!(!Assigned.can_move_to(InTransit));
        assert!(!InTransit.can_move_to(PickedUp));
        assert!(!PickedUp.can_move_to(Pending));
    }

    #[test]
    fn failed_is_reachable_from_every_state_that_is_not_final() {
        for status in [Pending, Assigned, PickedUp, InTransit] {
            assert!(status.can_move_to(Failed), "{status} → FAILED");
        }
        for status in [Delivered, Failed] {
            for next in DeliveryStatus::ALL {
                assert!(!status.can_move_to(next), "{status} is final, not → {next}");
            }
        }
    }

    #[test]
    fn an_illegal_move_names_both_states() {
        let err = delivery(Pending).move_to(PickedUp, None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot move the delivery of order 00000000-0000-0000-0000-000000000000 \
             from PENDING to PICKED_UP"
        );
    }

    #[test]
    fn asking_for_the_current_status_changes_nothing() {
        assert_eq!(delivery(Assigned).move_to(Assigned, None, None), Ok(None));
        assert_eq!(delivery(Delivered).move_to(Delivered, None, None), Ok(None));
    }

    #[test]
    fn the_courier_is_kept_once_set() {
        let mut delivery = delivery(Pending);
        let assigned = delivery
            .move_to(Assigned, Some("Ana"), None)
            .unwrap()
            .unwrap();
        delivery.apply(&assigned, Utc::now());
        let picked = delivery.move_to(PickedUp, None, None).unwrap().unwrap();
        delivery.apply(&picked, Utc::now());
        assert_eq!(delivery.courier.as_deref(), Some("Ana"));
        assert_eq!(delivery.status, PickedUp);
        assert_eq!(delivery.version, 3);
    }

    #[test]
    fn cancelling_fails_a_live_delivery_and_leaves_a_final_one() {
        let failed = delivery(InTransit).cancel("customer moved").unwrap();
        assert_eq!(failed.to, Failed);
        assert_eq!(
            failed.note.as_deref(),
            Some("order cancelled: customer moved")
        );
        assert_eq!(delivery(Delivered).cancel("too late"), None);
    }
}
