//! Who may do what: the one policy of REST and GraphQL alike. Every route and resolver asks
//! [`Caller::authorize`] with the [`Action`] it is about to take; nothing else decides.
//!
//! | action                                   | anyone | customer    | courier                | admin |
//! |------------------------------------------|--------|-------------|------------------------|-------|
//! | read the menu and the movie catalog      | yes    | yes         | yes                    | yes   |
//! | change the menu or the movie catalog     |        |             |                        | yes   |
//! | place or list orders for a customer      |        | themself    |                        | any   |
//! | read, cancel, follow an order            |        | their own   |                        | yes   |
//! | read a delivery                          |        | their order | yes                    | yes   |
//! | move a delivery                          |        |             | as self, one they hold | yes   |
//! | submit or list billing for a user        |        | themself    |                        | any   |
//! | read a billing order or a payment        |        | their own   |                        | yes   |
//!
//! No token where one is needed is 401 (UNAUTHENTICATED); a token without the right is 403
//! (FORBIDDEN). Someone else's order, billing order or delivery is 404 with the message a
//! missing one has, so ids cannot be probed.
//!
//! A delivery is held by the courier who took it (one still PENDING by nobody): another
//! courier's move is 409 (FAILED_PRECONDITION), which delivery-service decides under the
//! delivery's lock; an admin's move may hand it to another courier
//! ([`Caller::reassigns_deliveries`]).

use std::fmt;

use crate::error::{ApiError, ErrorCode};

/// What a token may say a caller is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Customer,
    Courier,
    Admin,
}

impl Role {
    pub const ALL: [Self; 3] = [Self::Customer, Self::Courier, Self::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Courier => "courier",
            Self::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == raw)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller: the token's `sub` and `roles`, and until when it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub subject: String,
    pub roles: Vec<Role>,
    /// The token's `exp` (Unix seconds): a socket opened with it closes then.
    pub expires_at: u64,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    fn is_admin(&self) -> bool {
        self.has(Role::Admin)
    }
}

/// Whoever makes a request: a [`Principal`], or anonymous.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller(pub Option<Principal>);

/// What a request is about to do, with what the decision depends on.
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    ReadCatalog,
    WriteCatalog,
    /// Place or list orders for `customer` (`None`: the caller's own).
    ActForCustomer {
        customer: Option<&'a str>,
    },
    /// Read, cancel or follow an order that belongs to `owner`.
    UseOrder {
        id: &'a str,
        owner: &'a str,
    },
    /// Read the delivery of an order that belongs to `owner`.
    ReadDelivery {
        order_id: &'a str,
        owner: &'a str,
    },
    /// Whether the caller may read deliveries without owning the order (a courier's job).
    ReadAnyDelivery,
    /// Move a delivery, recorded as done by `courier` (`None`: the caller).
    MoveDelivery {
        courier: Option<&'a str>,
    },
    /// Submit or list billing orders for `user` (`None`: the caller's own).
    ActForBillingUser {
        user: Option<i64>,
    },
    /// Read a billing order that belongs to `user`.
    ReadBillingOrder {
        request_id: &'a str,
        user: i64,
    },
    /// Read the payment of an order that belongs to `owner`.
    ReadPayment {
        order_id: &'a str,
        owner: &'a str,
    },
}

/// What the policy grants: the subject the request acts for, when it acts for one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    Allowed,
    /// The customer, courier or billing user the request acts for.
    As(String),
}

impl Grant {
    /// The subject granted; "" for [`Grant::Allowed`], which names none.
    pub fn subject(&self) -> &str {
        match self {
            Self::Allowed => "",
            Self::As(subject) => subject,
        }
    }
}

impl Caller {
    pub fn anonymous() -> Self {
        Self(None)
    }

    pub fn principal(&self) -> Option<&Principal> {
        self.0.as_ref()
    }

    /// Whether this caller's move of a delivery may take it from the courier who holds it (an
    /// admin's override). [`Action::MoveDelivery`] decides who the move is recorded for; this
    /// decides whether delivery-service lets that courier differ from the holder.
    pub fn reassigns_deliveries(&self) -> bool {
        self.principal().is_some_and(Principal::is_admin)
    }

    /// The decision for `action`.
    pub fn authorize(&self, action: Action<'_>) -> Result<Grant, ApiError> {
        if let Action::ReadCatalog = action {
            return Ok(Grant::Allowed);
        }
        let Some(me) = &self.0 else {
            return Err(unauthenticated());
        };
        let own = |owner: &str| me.is_admin() || (me.has(Role::Customer) && me.subject == owner);
        match action {
            Action::ReadCatalog => Ok(Grant::Allowed),
            Action::WriteCatalog => {
                require(me.is_admin(), "changing the catalog needs the admin role")
            }
            Action::ActForCustomer { customer } => {
                acting_for(me, Role::Customer, customer, "customer_id", "orders")
            }
            Action::UseOrder { id, owner } => {
                if own(owner) {
                    Ok(Grant::Allowed)
                } else if me.has(Role::Customer) || me.is_admin() {
                    Err(hidden(format!("order {id} not found")))
                } else {
                    Err(forbidden("orders are for the customer who placed them"))
                }
            }
            Action::ReadDelivery { order_id, owner } => {
                if own(owner) || me.has(Role::Courier) {
                    Ok(Grant::Allowed)
                } else {
                    Err(hidden(format!("order {order_id} not found")))
                }
            }
            Action::ReadAnyDelivery => require(
                me.is_admin() || me.has(Role::Courier),
                "reading any delivery needs the courier role",
            ),
            // An admin moving a delivery records whoever it names, or nobody.
            Action::MoveDelivery { courier } if me.is_admin() => Ok(courier
                .filter(|courier| !courier.is_empty())
                .map_or(Grant::Allowed, |courier| Grant::As(courier.to_owned()))),
            Action::MoveDelivery { courier } => {
                acting_for(me, Role::Courier, courier, "courier", "deliveries")
            }
            Action::ActForBillingUser { user } => {
                let named = user.map(|user| user.to_string());
                acting_for(me, Role::Customer, named.as_deref(), "user_id", "billing")
            }
            Action::ReadBillingOrder { request_id, user } => {
                if own(&user.to_string()) {
                    Ok(Grant::Allowed)
                } else {
                    Err(hidden(format!(
                        "no billing order for request {request_id} (yet)"
                    )))
                }
            }
            Action::ReadPayment { order_id, owner } => {
                if own(owner) {
                    Ok(Grant::Allowed)
                } else {
                    Err(hidden(format!("order {order_id} not found")))
                }
            }
        }
    }
}

/// A request acting for someone: a caller with `role` acts for themself only (naming another is
/// refused, naming nobody means themself); an admin acts for whoever is named, and must name one.
fn acting_for(
    me: &Principal,
    role: Role,
    named: Option<&str>,
    field: &str,
    what: &str,
) -> Result<Grant, ApiError> {
    // Compared exactly as given: " c-1" is not c-1 (the subject itself is refused at the
    // edge when it has surrounding spaces, see `token::subject_problem`).
    let named = named.filter(|named| !named.is_empty());
    if me.is_admin() {
        return match named {
            Some(named) => Ok(Grant::As(named.to_owned())),
            None if me.has(role) => Ok(Grant::As(me.subject.clone())),
            None => Err(ApiError::invalid(
                field,
                "is required when an admin acts for someone",
            )),
        };
    }
    if !me.has(role) {
        return Err(forbidden(&format!("{what} need the {role} role")));
    }
    match named {
        Some(named) if named != me.subject => Err(forbidden(&format!(
            "{field} {named:?} is not you ({:?}); only an admin acts for someone else",
            me.subject
        ))),
        _ => Ok(Grant::As(me.subject.clone())),
    }
}

fn require(allowed: bool, why: &str) -> Result<Grant, ApiError> {
    if allowed {
        Ok(Grant::Allowed)
    } else {
        Err(forbidden(why))
    }
}

pub fn unauthenticated() -> ApiError {
    ApiError::new(
        ErrorCode::Unauthenticated,
        "this needs a bearer token (Authorization: Bearer <token>)",
    )
}

fn forbidden(why: &str) -> ApiError {
    ApiError::new(ErrorCode::Forbidden, why)
}

/// Someone else's resource reads as a missing one.
fn hidden(message: String) -> ApiError {
    ApiError::new(ErrorCode::NotFound, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(subject: &str, roles: &[Role]) -> Caller {
        Caller(Some(Principal {
            subject: subject.to_owned(),
            roles: roles.to_vec(),
            expires_at: u64::MAX,
        }))
    }

    fn code(result: Result<Grant, ApiError>) -> Result<Grant, ErrorCode> {
        result.map_err(|err| err.code)
    }

    #[test]
    fn anyone_reads_the_catalog_and_only_admins_change_it() {
        let anonymous = Caller::anonymous();
        assert_eq!(
            code(anonymous.authorize(Action::ReadCatalog)),
            Ok(Grant::Allowed)
        );
        assert_eq!(
            code(anonymous.authorize(Action::WriteCatalog)),
            Err(ErrorCode::Unauthenticated)
        );
        for role in [Role::Customer, Role::Courier] {
            assert_eq!(
                code(caller("x", &[role]).authorize(Action::WriteCatalog)),
                Err(ErrorCode::Forbidden)
            );
        }
        assert_eq!(
            code(caller("a", &[Role::Admin]).authorize(Action::WriteCatalog)),
            Ok(Grant::Allowed)
        );
    }

    #[test]
    fn customers_act_for_themselves_and_admins_for_whoever_they_name() {
        let alice = caller("c-1", &[Role::Customer]);
        let act =
            |caller: &Caller, customer| code(caller.authorize(Action::ActForCustomer { customer }));
        assert_eq!(act(&alice, None), Ok(Grant::As("c-1".into())));
        assert_eq!(act(&alice, Some("c-1")), Ok(Grant::As("c-1".into())));
        assert_eq!(act(&alice, Some("c-2")), Err(ErrorCode::Forbidden));
        let courier = caller("k-1", &[Role::Courier]);
        assert_eq!(act(&courier, None), Err(ErrorCode::Forbidden));
        let admin = caller("root", &[Role::Admin]);
        assert_eq!(act(&admin, Some("c-2")), Ok(Grant::As("c-2".into())));
        assert_eq!(act(&admin, None), Err(ErrorCode::InvalidArgument));
    }

    #[test]
    fn someone_elses_order_reads_as_missing() {
        let bob = caller("c-2", &[Role::Customer]);
        let err = bob
            .authorize(Action::UseOrder {
                id: "o-1",
                owner: "c-1",
            })
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert_eq!(err.message, "order o-1 not found");
        let alice = caller("c-1", &[Role::Customer]);
        assert!(
            alice
                .authorize(Action::UseOrder {
                    id: "o-1",
                    owner: "c-1"
                })
                .is_ok()
        );
        let courier = caller("k-1", &[Role::Courier]);
        assert_eq!(
            code(courier.authorize(Action::UseOrder {
                id: "o-1",
                owner: "c-1"
            })),
            Err(ErrorCode::Forbidden)
        );
    }

    #[test]
    fn couriers_read_every_delivery_and_move_them_as_themselves() {
        let courier = caller("k-1", &[Role::Courier]);
        let read = Action::ReadDelivery {
            order_id: "o-1",
            owner: "c-1",
        };
        assert_eq!(code(courier.authorize(read)), Ok(Grant::Allowed));
        assert_eq!(
            code(courier.authorize(Action::MoveDelivery { courier: None })),
            Ok(Grant::As("k-1".into()))
        );
        assert_eq!(
            code(courier.authorize(Action::MoveDelivery {
                courier: Some("k-2")
            })),
            Err(ErrorCode::Forbidden)
        );
        let customer = caller("c-1", &[Role::Customer]);
        assert_eq!(code(customer.authorize(read)), Ok(Grant::Allowed));
        assert_eq!(
            code(caller("c-2", &[Role::Customer]).authorize(read)),
            Err(ErrorCode::NotFound)
        );
        assert_eq!(
            code(customer.authorize(Action::MoveDelivery { courier: None })),
            Err(ErrorCode::Forbidden)
        );
    }

    #[test]
    fn only_admins_take_a_delivery_from_the_courier_who_holds_it() {
        assert!(caller("root", &[Role::Admin]).reassigns_deliveries());
        assert!(caller("k-9", &[Role::Courier, Role::Admin]).reassigns_deliveries());
        assert!(!caller("k-1", &[Role::Courier]).reassigns_deliveries());
        assert!(!caller("c-1", &[Role::Customer]).reassigns_deliveries());
        assert!(!Caller::anonymous().reassigns_deliveries());
    }

    #[test]
    fn billing_belongs_to_the_user_the_token_names() {
        let user = caller("3", &[Role::Customer]);
        assert_eq!(
            code(user.authorize(Action::ActForBillingUser { user: Some(3) })),
            Ok(Grant::As("3".into()))
        );
        assert_eq!(
            code(user.authorize(Action::ActForBillingUser { user: Some(4) })),
            Err(ErrorCode::Forbidden)
        );
        assert_eq!(
            code(user.authorize(Action::ReadBillingOrder {
                request_id: "r",
                user: 4
            })),
            Err(ErrorCode::NotFound)
        );
    }
}
