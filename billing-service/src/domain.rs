//! Payments and billing orders, and the rules for accepting them. Pure: no I/O, no wire types.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use mesh_kit::InvalidField;
use uuid::Uuid;

/// The outcome of charging an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentStatus {
    Captured,
    Declined,
}

impl PaymentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Captured => "CAPTURED",
            Self::Declined => "DECLINED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Captured, Self::Declined]
            .into_iter()
            .find(|status| status.as_str() == raw)
    }
}

/// The payment of one order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Payment {
    pub order_id: Uuid,
    pub status: PaymentStatus,
    pub amount_cents: i64,
    pub currency: String,
    pub decline_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What charging an order decided: the one event of the order's payment stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentDecided {
    pub status: PaymentStatus,
    pub amount_cents: i64,
    pub currency: String,
    pub decline_reason: Option<String>,
}

impl Payment {
    /// The payment its one event makes.
    pub fn decided(order_id: Uuid, event: &PaymentDecided, at: DateTime<Utc>) -> Self {
        Self {
            order_id,
            status: event.status,
            amount_cents: event.amount_cents,
            currency: event.currency.clone(),
            decline_reason: event.decline_reason.clone(),
            created_at: at,
        }
    }
}

/// A billing order as the gateway queued it, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBillingOrder {
    pub request_id: Uuid,
    pub user_id: i64,
    pub number_of_items: i64,
    pub total_amount_cents: i64,
    pub received_at: DateTime<Utc>,
}

impl NewBillingOrder {
    /// Checks a queued request. The gateway validated it already; this guards against anything
    /// else written to the topic.
    pub fn parse(
        request_id: &str,
        user_id: i64,
        number_of_items: i64,
        total_amount_cents: i64,
        received_at: Option<DateTime<Utc>>,
    ) -> Result<Self, InvalidField> {
        let request_id = Uuid::parse_str(request_id.trim())
            .map_err(|_| InvalidField::new("request_id", "must be a UUID"))?;
        if user_id <= 0 {
            return Err(InvalidField::new("user_id", "must be a positive integer"));
        }
        if number_of_items <= 0 {
            return Err(InvalidField::new(
                "number_of_items",
                "must be a positive integer",
            ));
        }
        if total_amount_cents < 0 {
            return Err(InvalidField::new(
                "total_amount_cents",
                "must not be negative",
            ));
        }
        Ok(Self {
            request_id,
            user_id,
            number_of_items,
            total_amount_cents,
            received_at: received_at.unwrap_or_else(Utc::now),
        })
    }
}

/// A stored billing order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BillingOrder {
    pub id: i64,
    pub request_id: Uuid,
    pub user_id: i64,
    pub number_of_items: i64,
    pub total_amount_cents: i64,
    pub received_at: DateTime<Utc>,
    pub processed_at: DateTime<Utc>,
}

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// `0` means the default; more than the maximum is capped (the contract refuses a negative).
pub fn page_size(requested: i32) -> i64 {
    match i64::from(requested) {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}

/// Where the next page of a list starts: after the billing order with this id. Opaque to
/// clients.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageToken {
    pub after_id: i64,
}

impl PageToken {
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(self.after_id.to_string())
    }

    /// An empty token is the first page.
    pub fn parse(raw: &str) -> Result<Option<Self>, InvalidField> {
        if raw.is_empty() {
            return Ok(None);
        }
        let invalid = || InvalidField::new("page_token", "is not a token this service issued");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let after_id = text.parse().map_err(|_| invalid())?;
        Ok(Some(Self { after_id }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(user_id: i64, items: i64, cents: i64) -> Result<NewBillingOrder, InvalidField> {
        NewBillingOrder::parse(&Uuid::new_v4().to_string(), user_id, items, cents, None)
    }

    #[test]
    fn a_valid_request_is_accepted() {
        let order = parse(3, 5, 18_000).expect("valid");
        assert_eq!(
            (
                order.user_id,
                order.number_of_items,
                order.total_amount_cents
            ),
            (3, 5, 18_000)
        );
        assert!(parse(3, 5, 0).is_ok(), "a free order is fine");
    }

    #[test]
    fn invalid_requests_name_the_field() {
        assert_eq!(parse(0, 5, 1).unwrap_err().field, "user_id");
        assert_eq!(parse(3, 0, 1).unwrap_err().field, "number_of_items");
        assert_eq!(parse(3, 5, -1).unwrap_err().field, "total_amount_cents");
        let bad_id = NewBillingOrder::parse("nope", 3, 5, 1, None).unwrap_err();
        assert_eq!(bad_id.field, "request_id");
    }

    #[test]
    fn page_tokens_round_trip_and_reject_junk() {
        let token = PageToken { after_id: 42 };
        assert_eq!(PageToken::parse(&token.encode()), Ok(Some(token)));
        assert_eq!(PageToken::parse(""), Ok(None));
        assert!(PageToken::parse("!!").is_err());
        assert_eq!(page_size(0), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(10_000), MAX_PAGE_SIZE);
    }
}
