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

/// A move naming a courier other than the one who holds the delivery, without an admin's
/// override: a delivery stays with the courier who took it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the delivery of order {order_id} is held by courier {holder:?}; \
     only an admin may give it to {courier:?}"
)]
pub struct HeldByAnother {
    pub order_id: Uuid,
    pub holder: String,
    pub courier: String,
}

/// Why [`Delivery::move_to`] refuses a move.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoveRefused {
    #[error(transparent)]
    Illegal(#[from] IllegalTransition),
    #[error(transparent)]
    Held(#[from] HeldByAnother),
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
    ///
    /// The courier who took a delivery holds it: a move naming another courier is refused
    /// unless `reassign` (an admin's override) hands it over. A move naming no courier keeps
    /// the holder. The check runs on the state loaded under the aggregate's lock, so two
    /// couriers racing for one delivery cannot both win. It comes before the no-op so that the
    /// loser of that race, asking for ASSIGNED once the winner has it, is told so instead of
    /// getting the winner's delivery as if it were theirs; the holder's own retry is still a
    /// no-op.
    pub fn move_to(
        &self,
        to: DeliveryStatus,
        courier: Option<&str>,
        note: Option<&str>,
        reassign: bool,
    ) -> Result<Option<StatusChanged>, MoveRefused> {
        if let (Some(holder), Some(courier)) = (self.courier.as_deref(), courier)
            && holder != courier
            && !reassign
        {
            return Err(HeldByAnother {
                order_id: self.order_id,
                holder: holder.to_owned(),
                courier: courier.to_owned(),
            }
            .into());
        }
        if to == self.status {
            return Ok(None);
        }
        if !self.status.can_move_to(to) {
            return Err(IllegalTransition {
                order_id: self.order_id,
                from: self.status,
                to,
            }
            .into());
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
        self.move_to(DeliveryStatus::Failed, None, Some(&note), false)
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
        let err = delivery(Pending)
            .move_to(PickedUp, None, None, false)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot move the delivery of order 00000000-0000-0000-0000-000000000000 \
             from PENDING to PICKED_UP"
        );
    }

    #[test]
    fn asking_for_the_current_status_changes_nothing() {
        assert_eq!(
            delivery(Assigned).move_to(Assigned, None, None, false),
            Ok(None)
        );
        assert_eq!(
            delivery(Delivered).move_to(Delivered, None, None, false),
            Ok(None)
        );
    }

    #[test]
    fn the_courier_is_kept_once_set() {
        let mut delivery = delivery(Pending);
        let assigned = delivery
            .move_to(Assigned, Some("Ana"), None, false)
            .unwrap()
            .unwrap();
        delivery.apply(&assigned, Utc::now());
        let picked = delivery
            .move_to(PickedUp, None, None, false)
            .unwrap()
            .unwrap();
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

    /// A delivery at `status` held by courier `holder`.
    fn held_by(holder: &str, status: DeliveryStatus) -> Delivery {
        Delivery {
            courier: Some(holder.to_owned()),
            ..delivery(status)
        }
    }

    #[test]
    fn a_courier_cannot_move_a_delivery_another_courier_holds() {
        let held = held_by("k-1", Assigned);
        let err = held
            .move_to(PickedUp, Some("k-2"), None, false)
            .unwrap_err();
        assert_eq!(
            err,
            MoveRefused::Held(HeldByAnother {
                order_id: Uuid::nil(),
                holder: "k-1".into(),
                courier: "k-2".into(),
            })
        );
        assert_eq!(
            err.to_string(),
            "the delivery of order 00000000-0000-0000-0000-000000000000 is held by courier \
             \"k-1\"; only an admin may give it to \"k-2\""
        );
        assert!(
            held.move_to(Failed, Some("k-2"), None, false).is_err(),
            "failing it is a move too"
        );
    }

    #[test]
    fn couriers_are_compared_exactly() {
        let held = held_by("k-1", Assigned);
        for other in ["K-1", "k-1 ", "k-10"] {
            assert!(
                held.move_to(PickedUp, Some(other), None, false).is_err(),
                "{other:?} is not k-1"
            );
        }
    }

    #[test]
    fn the_holder_moves_their_delivery_on() {
        let mut held = held_by("k-1", Assigned);
        let picked = held
            .move_to(PickedUp, Some("k-1"), None, false)
            .unwrap()
            .unwrap();
        held.apply(&picked, Utc::now());
        assert_eq!(held.status, PickedUp);
        assert_eq!(held.courier.as_deref(), Some("k-1"));
    }

    #[test]
    fn an_admin_override_reassigns() {
        let mut held = held_by("k-1", Assigned);
        let picked = held
            .move_to(PickedUp, Some("k-2"), Some("k-1 is ill"), true)
            .unwrap()
            .unwrap();
        assert_eq!(picked.courier.as_deref(), Some("k-2"));
        held.apply(&picked, Utc::now());
        assert_eq!(held.courier.as_deref(), Some("k-2"), "k-2 holds it now");
        let err = held
            .move_to(InTransit, Some("k-1"), None, false)
            .unwrap_err();
        assert!(
            matches!(err, MoveRefused::Held(ref h) if h.holder == "k-2"),
            "{err}"
        );
    }

    #[test]
    fn a_move_naming_no_courier_keeps_the_holder() {
        let mut held = held_by("k-1", Assigned);
        let picked = held.move_to(PickedUp, None, None, false).unwrap().unwrap();
        assert_eq!(picked.courier, None);
        held.apply(&picked, Utc::now());
        assert_eq!(held.courier.as_deref(), Some("k-1"));
    }

    #[test]
    fn an_unheld_delivery_goes_to_whoever_takes_it() {
        let pending = delivery(Pending);
        assert_eq!(pending.courier, None);
        let assigned = pending
            .move_to(Assigned, Some("k-2"), None, false)
            .unwrap()
            .unwrap();
        assert_eq!(assigned.courier.as_deref(), Some("k-2"));
    }

    #[test]
    fn the_holder_may_ask_again_and_another_courier_is_told_who_holds_it() {
        let held = held_by("k-1", Assigned);
        assert_eq!(held.move_to(Assigned, Some("k-1"), None, false), Ok(None));
        assert_eq!(held.move_to(Assigned, None, None, false), Ok(None));
        assert!(
            matches!(
                held.move_to(Assigned, Some("k-2"), None, false),
                Err(MoveRefused::Held(_))
            ),
            "the courier who lost the race to take it is not answered as if it were theirs"
        );
        assert_eq!(
            held.move_to(Assigned, Some("k-2"), None, true),
            Ok(None),
            "no status change, no event: an override rides on a move"
        );
    }

    #[test]
    fn cancelling_fails_a_held_delivery() {
        let failed = held_by("k-1", PickedUp).cancel("").unwrap();
        assert_eq!(failed.to, Failed);
        assert_eq!(failed.courier, None);
    }
}
