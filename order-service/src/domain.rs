//! The order aggregate: its lifecycle, the events that move it, and the rules for placing one.
//! Pure: no I/O, no wire types. State is the fold of events ([`Order::apply`]); commands decide
//! which event, if any, a request produces.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use mesh_kit::{InvalidField, text::TextRule};
use uuid::Uuid;

/// Where an order is in its life.
///
/// `PLACED → PAID | PAYMENT_FAILED`, `PAID → OUT_FOR_DELIVERY → DELIVERED`,
/// `PLACED | PAID → CANCELLED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Placed,
    Paid,
    PaymentFailed,
    OutForDelivery,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [Self; 6] = [
        Self::Placed,
        Self::Paid,
        Self::PaymentFailed,
        Self::OutForDelivery,
        Self::Delivered,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Placed => "PLACED",
            Self::Paid => "PAID",
            Self::PaymentFailed => "PAYMENT_FAILED",
            Self::OutForDelivery => "OUT_FOR_DELIVERY",
            Self::Delivered => "DELIVERED",
            Self::Cancelled => "CANCELLED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == raw)
    }

    /// Whether the lifecycle allows moving from `self` to `next`.
    pub fn can_move_to(self, next: Self) -> bool {
        use OrderStatus::*;
        matches!(
            (self, next),
            (Placed, Paid | PaymentFailed | Cancelled)
                | (Paid, OutForDelivery | Cancelled)
                | (OutForDelivery, Delivered)
        )
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A move the lifecycle does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot move order {order_id} from {from} to {to}")]
pub struct IllegalTransition {
    pub order_id: Uuid,
    pub from: OrderStatus,
    pub to: OrderStatus,
}

/// One line of an order, priced by the menu when the order was placed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderLine {
    pub menu_item_id: Uuid,
    pub name: String,
    pub unit_price_cents: i64,
    pub quantity: i32,
}

/// Everything that can happen to an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderEvent {
    Placed {
        customer_id: String,
        lines: Vec<OrderLine>,
        total_cents: i64,
        currency: String,
        delivery_address: String,
    },
    Paid {
        amount_cents: i64,
        currency: String,
    },
    PaymentFailed {
        reason: String,
    },
    OutForDelivery,
    Delivered,
    Cancelled {
        reason: String,
    },
}

impl OrderEvent {
    /// The status an order has after this event.
    pub fn status(&self) -> OrderStatus {
        match self {
            Self::Placed { .. } => OrderStatus::Placed,
            Self::Paid { .. } => OrderStatus::Paid,
            Self::PaymentFailed { .. } => OrderStatus::PaymentFailed,
            Self::OutForDelivery => OrderStatus::OutForDelivery,
            Self::Delivered => OrderStatus::Delivered,
            Self::Cancelled { .. } => OrderStatus::Cancelled,
        }
    }

    /// A human-readable note for the history.
    pub fn detail(&self) -> String {
        match self {
            Self::Placed {
                total_cents,
                currency,
                lines,
                ..
            } => format!(
                "{} item(s), {} {currency}",
                lines.iter().map(|l| l.quantity).sum::<i32>(),
                format_cents(*total_cents)
            ),
            Self::Paid {
                amount_cents,
                currency,
            } => format!("{} {currency} captured", format_cents(*amount_cents)),
            Self::PaymentFailed { reason } | Self::Cancelled { reason } => reason.clone(),
            Self::OutForDelivery => "picked up by the courier".to_owned(),
            Self::Delivered => "delivered".to_owned(),
        }
    }
}

/// `1234` → `12.34`.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// An order: the fold of its events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    pub id: Uuid,
    pub customer_id: String,
    pub lines: Vec<OrderLine>,
    pub delivery_address: String,
    pub status: OrderStatus,
    pub total_cents: i64,
    pub currency: String,
    /// The sequence of the last event applied; the next event takes `version + 1`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Order {
    /// The order as its first event makes it.
    pub fn placed(id: Uuid, event: &OrderEvent, at: DateTime<Utc>) -> Option<Self> {
        let OrderEvent::Placed {
            customer_id,
            lines,
            total_cents,
            currency,
            delivery_address,
        } = event
        else {
            return None;
        };
        Some(Self {
            id,
            customer_id: customer_id.clone(),
            lines: lines.clone(),
            delivery_address: delivery_address.clone(),
            status: OrderStatus::Placed,
            total_cents: *total_cents,
            currency: currency.clone(),
            version: 1,
            created_at: at,
            updated_at: at,
        })
    }

    /// Rebuilds an order from its whole history; `None` when it does not start with `Placed`.
    pub fn from_history<'a>(
        id: Uuid,
        history: impl IntoIterator<Item = (&'a OrderEvent, DateTime<Utc>)>,
    ) -> Option<Self> {
        let mut history = history.into_iter();
        let (first, at) = history.next()?;
        let mut order = Self::placed(id, first, at)?;
        for (event, at) in history {
            order.apply(event, at);
        }
        Some(order)
    }

    /// Applies an event that happened: events are facts, so this never fails.
    pub fn apply(&mut self, event: &OrderEvent, at: DateTime<Utc>) {
        self.status = event.status();
        self.version += 1;
        self.updated_at = at;
    }

    fn move_to(&self, to: OrderStatus) -> Result<(), IllegalTransition> {
        if self.status.can_move_to(to) {
            Ok(())
        } else {
            Err(IllegalTransition {
                order_id: self.id,
                from: self.status,
                to,
            })
        }
    }

    /// The payment went through.
    pub fn pay(&self, amount_cents: i64, currency: &str) -> Result<OrderEvent, IllegalTransition> {
        self.move_to(OrderStatus::Paid)?;
        Ok(OrderEvent::Paid {
            amount_cents,
            currency: currency.to_owned(),
        })
    }

    /// The payment was declined.
    pub fn fail_payment(&self, reason: &str) -> Result<OrderEvent, IllegalTransition> {
        self.move_to(OrderStatus::PaymentFailed)?;
        Ok(OrderEvent::PaymentFailed {
            reason: reason.to_owned(),
        })
    }

    /// The courier has it. `None` when it is already out (picked up, then in transit).
    pub fn dispatch(&self) -> Result<Option<OrderEvent>, IllegalTransition> {
        if self.status == OrderStatus::OutForDelivery {
            return Ok(None);
        }
        self.move_to(OrderStatus::OutForDelivery)?;
        Ok(Some(OrderEvent::OutForDelivery))
    }

    pub fn deliver(&self) -> Result<OrderEvent, IllegalTransition> {
        self.move_to(OrderStatus::Delivered)?;
        Ok(OrderEvent::Delivered)
    }

    /// Allowed only while `PLACED` or `PAID`. `reason` is the customer's free text.
    pub fn cancel(&self, reason: &str) -> Result<OrderEvent, IllegalTransition> {
        self.move_to(OrderStatus::Cancelled)?;
        let reason = match reason.trim() {
            "" => "cancelled by the customer",
            reason => reason,
        };
        Ok(OrderEvent::Cancelled {
            reason: reason.to_owned(),
        })
    }
}

// === placing an order ===

// The bounds of a request (how many lines, quantities, lengths) are the contract's rules in
// `proto/order.proto`, checked as the request is decoded; parsing here checks what they cannot
// say: blank text, one line per menu item.

/// A quantity of one item, within the contract's range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity(i32);

impl Quantity {
    pub fn new(quantity: i32) -> Self {
        Self(quantity)
    }

    pub fn get(self) -> i32 {
        self.0
    }
}

/// One requested line, before the menu priced it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestedLine {
    pub menu_item_id: Uuid,
    pub quantity: Quantity,
}

/// A valid request to place an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaceOrder {
    pub customer_id: String,
    pub lines: Vec<RequestedLine>,
    pub delivery_address: String,
    pub idempotency_key: Option<String>,
}

impl PlaceOrder {
    /// Whether `order` is what this request places: a retry under the same idempotency key
    /// must ask for the same customer, address and lines (in any order), or it is a different
    /// order reusing the key.
    pub fn is_retry_of(&self, order: &Order) -> bool {
        let mut asked: Vec<(Uuid, i32)> = self
            .lines
            .iter()
            .map(|line| (line.menu_item_id, line.quantity.get()))
            .collect();
        let mut placed: Vec<(Uuid, i32)> = order
            .lines
            .iter()
            .map(|line| (line.menu_item_id, line.quantity))
            .collect();
        asked.sort_unstable();
        placed.sort_unstable();
        self.customer_id == order.customer_id
            && self.delivery_address == order.delivery_address
            && asked == placed
    }

    /// Parses a request: `items` as `(menu_item_id, quantity)` pairs.
    pub fn parse(
        customer_id: &str,
        items: &[(&str, i32)],
        delivery_address: &str,
        idempotency_key: &str,
    ) -> Result<Self, InvalidField> {
        let customer_id = TextRule::LINE.required("customer_id", customer_id)?;
        let mut lines: Vec<RequestedLine> = Vec::with_capacity(items.len());
        for (index, (id, quantity)) in items.iter().enumerate() {
            let menu_item_id = Uuid::parse_str(id.trim()).map_err(|_| {
                InvalidField::new(format!("items[{index}].menu_item_id"), "must be a UUID")
            })?;
            if let Some(first) = lines.iter().position(|l| l.menu_item_id == menu_item_id) {
                return Err(InvalidField::new(
                    format!("items[{index}].menu_item_id"),
                    format!("already ordered in items[{first}]; raise its quantity instead"),
                ));
            }
            let quantity = Quantity::new(*quantity);
            lines.push(RequestedLine {
                menu_item_id,
                quantity,
            });
        }
        let delivery_address = TextRule::FREE.required("delivery_address", delivery_address)?;
        let idempotency_key = TextRule::LINE.optional("idempotency_key", Some(idempotency_key))?;
        Ok(Self {
            customer_id,
            lines,
            delivery_address,
            idempotency_key,
        })
    }
}

/// A menu item as pricing needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuPrice {
    pub id: Uuid,
    pub name: String,
    pub price_cents: i64,
    pub currency: String,
    pub available: bool,
}

/// Prices every line from the menu (never from the client) and totals the order. Fails naming
/// the line whose item is unknown or unavailable, or when items are priced in different
/// currencies.
pub fn price(request: &PlaceOrder, menu: &[MenuPrice]) -> Result<OrderEvent, InvalidField> {
    let mut lines = Vec::with_capacity(request.lines.len());
    let mut total: i64 = 0;
    let mut currency: Option<&str> = None;
    for (index, line) in request.lines.iter().enumerate() {
        let field = || format!("items[{index}].menu_item_id");
        let item = menu
            .iter()
            .find(|item| item.id == line.menu_item_id)
            .ok_or_else(|| {
                InvalidField::new(field(), format!("no menu item {}", line.menu_item_id))
            })?;
        if !item.available {
            return Err(InvalidField::new(
                field(),
                format!("{} is not available", item.name),
            ));
        }
        match currency {
            None => currency = Some(&item.currency),
            Some(c) if c == item.currency => {}
            Some(c) => {
                return Err(InvalidField::new(
                    field(),
                    format!(
                        "{} is priced in {}, the order in {c}",
                        item.name, item.currency
                    ),
                ));
            }
        }
        total = item
            .price_cents
            .checked_mul(i64::from(line.quantity.get()))
            .and_then(|cost| total.checked_add(cost))
            .ok_or_else(|| InvalidField::new("items", "the total is too large"))?;
        lines.push(OrderLine {
            menu_item_id: item.id,
            name: item.name.clone(),
            unit_price_cents: item.price_cents,
            quantity: line.quantity.get(),
        });
    }
    Ok(OrderEvent::Placed {
        customer_id: request.customer_id.clone(),
        lines,
        total_cents: total,
        currency: currency.unwrap_or("USD").to_owned(),
        delivery_address: request.delivery_address.clone(),
    })
}

// === listing ===

/// How many orders a page holds: as asked (the contract bounds it), 20 when unset.
pub fn page_size(requested: i32) -> i64 {
    match requested {
        0 => 20,
        n => i64::from(n),
    }
}

/// Where the next page of a customer's orders starts (newest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageToken {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl PageToken {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}|{}",
            self.created_at.timestamp_micros(),
            self.id
        ))
    }

    pub fn parse(raw: &str) -> Result<Option<Self>, InvalidField> {
        if raw.is_empty() {
            return Ok(None);
        }
        let invalid = || InvalidField::new("page_token", "is not a token this service issued");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (micros, id) = text.split_once('|').ok_or_else(invalid)?;
        let micros: i64 = micros.parse().map_err(|_| invalid())?;
        Ok(Some(Self {
            created_at: DateTime::from_timestamp_micros(micros).ok_or_else(invalid)?,
            id: Uuid::parse_str(id).map_err(|_| invalid())?,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn menu_item(name: &str, price_cents: i64) -> MenuPrice {
        MenuPrice {
            id: Uuid::new_v4(),
            name: name.into(),
            price_cents,
            currency: "USD".into(),
            available: true,
        }
    }

    fn request(items: &[(&MenuPrice, i32)]) -> PlaceOrder {
        let ids: Vec<(String, i32)> = items.iter().map(|(i, q)| (i.id.to_string(), *q)).collect();
        let pairs: Vec<(&str, i32)> = ids.iter().map(|(id, q)| (id.as_str(), *q)).collect();
        PlaceOrder::parse("c-1", &pairs, "1 Main St", "").expect("valid")
    }

    fn placed_order(status: OrderStatus) -> Order {
        let event = OrderEvent::Placed {
            customer_id: "c".into(),
            lines: vec![],
            total_cents: 100,
            currency: "USD".into(),
            delivery_address: "a".into(),
        };
        let mut order = Order::placed(Uuid::new_v4(), &event, Utc::now()).expect("placed");
        order.status = status;
        order
    }

    #[test]
    fn the_lifecycle_allows_exactly_the_documented_moves() {
        use OrderStatus::*;
        let allowed = [
            (Placed, Paid),
            (Placed, PaymentFailed),
            (Placed, Cancelled),
            (Paid, OutForDelivery),
            (Paid, Cancelled),
            (OutForDelivery, Delivered),
        ];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(
                    from.can_move_to(to),
                    allowed.contains(&(from, to)),
                    "{from} → {to}"
                );
            }
        }
    }

    #[test]
    fn prices_come_from_the_menu_and_add_up() {
        let pizza = menu_item("Pizza", 1250);
        let soda = menu_item("Soda", 300);
        let event = price(
            &request(&[(&pizza, 2), (&soda, 3)]),
            &[soda.clone(), pizza.clone()],
        )
        .expect("priced");
        let OrderEvent::Placed {
            lines,
            total_cents,
            currency,
            ..
        } = event
        else {
            panic!("placed");
        };
        assert_eq!(total_cents, 2 * 1250 + 3 * 300);
        assert_eq!(currency, "USD");
        assert_eq!(lines[0].name, "Pizza");
        assert_eq!(lines[1].unit_price_cents, 300);
    }

    #[test]
    fn refuses_unknown_unavailable_and_mixed_currency_items_naming_the_line() {
        let pizza = menu_item("Pizza", 1250);
        let mut gone = menu_item("Soup", 500);
        gone.available = false;
        let err = price(
            &request(&[(&pizza, 1), (&gone, 1)]),
            &[pizza.clone(), gone.clone()],
        )
        .expect_err("unavailable");
        assert_eq!(
            err.to_string(),
            "items[1].menu_item_id: Soup is not available"
        );

        let err = price(&request(&[(&pizza, 1)]), &[]).expect_err("unknown");
        assert!(
            err.to_string()
                .starts_with("items[0].menu_item_id: no menu item"),
            "{err}"
        );

        let mut euro = menu_item("Crêpe", 500);
        euro.currency = "EUR".into();
        let err = price(&request(&[(&pizza, 1), (&euro, 1)]), &[pizza, euro]).expect_err("mixed");
        assert!(err.to_string().contains("priced in EUR"), "{err}");
    }

    #[test]
    fn parses_requests_naming_the_bad_field() {
        let id = Uuid::new_v4().to_string();
        let err = |customer: &str, items: &[(&str, i32)], address: &str| {
            PlaceOrder::parse(customer, items, address, "")
                .expect_err("invalid")
                .to_string()
        };
        assert_eq!(err("", &[(&id, 1)], "a"), "customer_id: is required");
        assert_eq!(
            err("c", &[("pizza", 1)], "a"),
            "items[0].menu_item_id: must be a UUID"
        );
        assert!(
            err("c", &[(&id, 1), (&id, 2)], "a")
                .starts_with("items[1].menu_item_id: already ordered")
        );
        assert_eq!(err("c", &[(&id, 1)], "  "), "delivery_address: is required");
    }

    #[test]
    fn cancel_is_allowed_only_before_dispatch() {
        assert!(placed_order(OrderStatus::Placed).cancel("").is_ok());
        assert!(
            placed_order(OrderStatus::Paid)
                .cancel("changed my mind")
                .is_ok()
        );
        let err = placed_order(OrderStatus::OutForDelivery)
            .cancel("")
            .expect_err("too late");
        assert_eq!(err.from, OrderStatus::OutForDelivery);
        assert!(placed_order(OrderStatus::Delivered).cancel("").is_err());
    }

    #[test]
    fn dispatch_is_idempotent_once_out_for_delivery() {
        assert_eq!(
            placed_order(OrderStatus::Paid).dispatch(),
            Ok(Some(OrderEvent::OutForDelivery))
        );
        assert_eq!(
            placed_order(OrderStatus::OutForDelivery).dispatch(),
            Ok(None)
        );
        assert!(placed_order(OrderStatus::Placed).dispatch().is_err());
    }

    #[test]
    fn state_is_the_fold_of_the_history() {
        let placed = OrderEvent::Placed {
            customer_id: "c".into(),
            lines: vec![],
            total_cents: 500,
            currency: "USD".into(),
            delivery_address: "a".into(),
        };
        let paid = OrderEvent::Paid {
            amount_cents: 500,
            currency: "USD".into(),
        };
        let now = Utc::now();
        let history = [
            (&placed, now),
            (&paid, now),
            (&OrderEvent::OutForDelivery, now),
        ];
        let order = Order::from_history(Uuid::new_v4(), history).expect("starts with Placed");
        assert_eq!(order.status, OrderStatus::OutForDelivery);
        assert_eq!(order.version, 3);
        assert!(Order::from_history(Uuid::new_v4(), [(&paid, now)]).is_none());
    }

    #[test]
    fn page_tokens_round_trip() {
        let token = PageToken {
            created_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap_or_default(),
            id: Uuid::new_v4(),
        };
        assert_eq!(PageToken::parse(&token.encode()), Ok(Some(token)));
        assert!(PageToken::parse("junk!").is_err());
        assert_eq!(format_cents(123_456), "1234.56");
        assert_eq!(format_cents(5), "0.05");
    }
}
