//! The menu's rules, free of I/O and of wire types: what a valid item, price, page and filter are.
//! Every value here was parsed once at the edge; holding one means it is valid.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use mesh_kit::{InvalidField, text::TextRule};
use uuid::Uuid;

/// A menu item as the menu knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuItem {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    pub category: String,
    pub available: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Parses a menu item id.
pub fn parse_id(field: &'static str, raw: &str) -> Result<Uuid, InvalidField> {
    Uuid::parse_str(raw.trim()).map_err(|_| InvalidField::new(field, "must be a UUID"))
}

/// A name shown to customers: trimmed, 1 to 120 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemName(String);

impl ItemName {
    pub const MAX_CHARS: usize = 120;

    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        TextRule::line(Self::MAX_CHARS)
            .required("name", raw)
            .map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Free text under the name; may be empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 1000;

    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        TextRule::free(Self::MAX_CHARS)
            .parse("description", raw)
            .map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The section of the menu: "Pizza", "Drinks", ...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category(String);

impl Category {
    pub const MAX_CHARS: usize = 60;

    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        TextRule::line(Self::MAX_CHARS)
            .required("category", raw)
            .map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A price in minor units. Zero is allowed (a free side); a cap keeps typos like an extra
/// three zeros from reaching customers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceCents(i64);

impl PriceCents {
    pub const MAX: i64 = 1_000_000;

    pub fn parse(raw: i64) -> Result<Self, InvalidField> {
        if (0..=Self::MAX).contains(&raw) {
            Ok(Self(raw))
        } else {
            Err(InvalidField::new(
                "price_cents",
                format!("must be between 0 and {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// An ISO 4217 code: three upper-case letters. Empty means the default, USD.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currency(String);

impl Currency {
    pub const DEFAULT: &str = "USD";

    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(Self(Self::DEFAULT.to_owned()));
        }
        if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidField::new(
                "currency",
                "must be an ISO 4217 code such as USD",
            ))
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A new item, every field valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewMenuItem {
    pub name: ItemName,
    pub description: Description,
    pub price_cents: PriceCents,
    pub currency: Currency,
    pub category: Category,
    pub available: bool,
}

/// A partial update: `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MenuItemPatch {
    pub name: Option<ItemName>,
    pub description: Option<Description>,
    pub price_cents: Option<PriceCents>,
    pub currency: Option<Currency>,
    pub category: Option<Category>,
    pub available: Option<bool>,
}

impl MenuItemPatch {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Which items a list shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub category: Option<String>,
    pub available: Option<bool>,
}

/// How many items a page holds: 1 to 100, 50 when unset (0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSize(i64);

impl PageSize {
    pub const DEFAULT: i64 = 50;
    pub const MAX: i64 = 100;

    pub fn parse(raw: i32) -> Result<Self, InvalidField> {
        match i64::from(raw) {
            0 => Ok(Self(Self::DEFAULT)),
            n if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(InvalidField::new(
                "page_size",
                format!("must be between 1 and {}", Self::MAX),
            )),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// Where the next page starts: the (name, id) of the last item of the previous one. Opaque to
/// clients; keyset paging stays correct when items are added between pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageToken {
    pub name: String,
    pub id: Uuid,
}

impl PageToken {
    pub fn after(item: &MenuItem) -> Self {
        Self {
            name: item.name.clone(),
            id: item.id,
        }
    }

    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{}\n{}", self.id, self.name))
    }

    /// Empty means the first page.
    pub fn parse(raw: &str) -> Result<Option<Self>, InvalidField> {
        if raw.is_empty() {
            return Ok(None);
        }
        let invalid = || InvalidField::new("page_token", "is not a token this service issued");
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
        let text = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (id, name) = text.split_once('\n').ok_or_else(invalid)?;
        let id = Uuid::parse_str(id).map_err(|_| invalid())?;
        Ok(Some(Self {
            name: name.to_owned(),
            id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_must_not_be_blank() {
        assert_eq!(
            ItemName::parse("  Margherita ").map(ItemName::into_inner),
            Ok("Margherita".into())
        );
        let err = ItemName::parse("   ").expect_err("blank");
        assert_eq!(err.field, "name");
        assert!(ItemName::parse(&"x".repeat(121)).is_err());
        assert!(ItemName::parse("tab\tinside").is_err());
    }

    #[test]
    fn rejects_negative_and_absurd_prices() {
        assert!(PriceCents::parse(0).is_ok());
        assert!(PriceCents::parse(1250).is_ok());
        assert_eq!(
            PriceCents::parse(-1).expect_err("negative").field,
            "price_cents"
        );
        assert!(PriceCents::parse(PriceCents::MAX + 1).is_err());
    }

    #[test]
    fn currency_defaults_to_usd_and_must_be_iso_4217() {
        assert_eq!(
            Currency::parse("").map(Currency::into_inner),
            Ok("USD".into())
        );
        assert_eq!(
            Currency::parse("EUR").map(Currency::into_inner),
            Ok("EUR".into())
        );
        assert!(Currency::parse("eur").is_err());
        assert!(Currency::parse("EURO").is_err());
    }

    #[test]
    fn page_size_defaults_to_fifty_and_caps_at_one_hundred() {
        assert_eq!(PageSize::parse(0).map(PageSize::get), Ok(50));
        assert_eq!(PageSize::parse(100).map(PageSize::get), Ok(100));
        assert_eq!(
            PageSize::parse(101).expect_err("too big").field,
            "page_size"
        );
        assert!(PageSize::parse(-3).is_err());
    }

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        let token = PageToken {
            name: "Pad Thai\nwith a newline".into(),
            id: Uuid::new_v4(),
        };
        assert_eq!(PageToken::parse(&token.encode()), Ok(Some(token)));
        assert_eq!(PageToken::parse(""), Ok(None));
        assert_eq!(
            PageToken::parse("!!").expect_err("garbage").field,
            "page_token"
        );
        assert!(PageToken::parse(&URL_SAFE_NO_PAD.encode("no-uuid\nname")).is_err());
    }

    #[test]
    fn ids_must_be_uuids() {
        assert!(parse_id("id", "1").is_err());
        assert!(parse_id("id", &Uuid::new_v4().to_string()).is_ok());
    }
}
