//! Charging an order: the [`PaymentProvider`] trait and the simulated provider the mesh runs
//! with.

use uuid::Uuid;

/// What the provider said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Approved,
    Declined { reason: String },
}

/// Something that can charge an order. A charge may be asked for more than once for the same
/// order (an event redelivered before its outcome was recorded): an implementation must treat
/// `order_id` as its idempotency key, as real payment APIs allow.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Whether a charge waits on something outside this process (a provider's API). Such a
    /// charge is made in a transaction of its own, so no batch's transaction waits on it.
    const CALLS_OUT: bool;

    fn charge(
        &self,
        order_id: Uuid,
        amount_cents: i64,
        currency: &str,
    ) -> impl Future<Output = Decision> + Send;
}

/// Approves every amount up to and including `limit_cents` and declines anything above, with
/// the reason `amount 1200.00 USD exceeds the limit of 1000.00 USD`. Deterministic: the same
/// order gets the same answer every time.
#[derive(Clone, Copy, Debug)]
pub struct SimulatedProvider {
    pub limit_cents: i64,
}

impl PaymentProvider for SimulatedProvider {
    /// It answers at once, in process.
    const CALLS_OUT: bool = false;

    async fn charge(&self, _order_id: Uuid, amount_cents: i64, currency: &str) -> Decision {
        if amount_cents <= self.limit_cents {
            Decision::Approved
        } else {
            Decision::Declined {
                reason: format!(
                    "amount {} {currency} exceeds the limit of {} {currency}",
                    money(amount_cents),
                    money(self.limit_cents)
                ),
            }
        }
    }
}

/// `120000` → `"1200.00"`.
pub fn money(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn approves_up_to_the_limit_and_declines_above_it() {
        let provider = SimulatedProvider {
            limit_cents: 100_000,
        };
        let order = Uuid::nil();
        assert_eq!(
            provider.charge(order, 100_000, "USD").await,
            Decision::Approved
        );
        assert_eq!(provider.charge(order, 0, "USD").await, Decision::Approved);
        assert_eq!(
            provider.charge(order, 120_000, "USD").await,
            Decision::Declined {
                reason: "amount 1200.00 USD exceeds the limit of 1000.00 USD".into()
            }
        );
    }

    #[test]
    fn money_has_two_decimals() {
        assert_eq!(money(0), "0.00");
        assert_eq!(money(5), "0.05");
        assert_eq!(money(1999), "19.99");
        assert_eq!(money(-250), "-2.50");
    }
}
