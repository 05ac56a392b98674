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
    pub allergens: Allergens,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an item contains of the declared allergens: each once, in name order. An allergen is
/// named as the contract names it (`ALLERGEN_GLUTEN`), which is also how the store keeps it;
/// which names exist is the contract's to say, checked where a request is decoded.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allergens(Vec<String>);

impl Allergens {
    pub fn new(names: impl IntoIterator<Item = String>) -> Self {
        let mut names: Vec<String> = names.into_iter().collect();
        names.sort();
        names.dedup();
        Self(names)
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

/// Parses a menu item id.
pub fn parse_id(field: &'static str, raw: &str) -> Result<Uuid, InvalidField> {
    Uuid::parse_str(raw.trim()).map_err(|_| InvalidField::new(field, "must be a UUID"))
}

/// A name shown to customers: trimmed, not blank. Its length is the contract's rule
/// (`CreateMenuItemRequest.name` in `proto/menu.proto`), as are all the bounds below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemName(String);

impl ItemName {
    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        TextRule::LINE.required("name", raw).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Free text under the name; may be empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        TextRule::FREE.parse("description", raw).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// The section of the menu: "Pizza", "Drinks", ...
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category(String);

impl Category {
    pub fn parse(raw: &str) -> Result<Self, InvalidField> {
        TextRule::LINE.required("category", raw).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A price in minor units, within the contract's range (zero for a free side, a cap against
/// typos).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PriceCents(i64);

impl PriceCents {
    pub fn new(cents: i64) -> Self {
        Self(cents)
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
    pub allergens: Allergens,
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
    /// The whole set, replacing the item's (empty: it has none).
    pub allergens: Option<Allergens>,
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
    /// Only items containing none of these.
    pub allergen_free: Allergens,
}

/// How many items a page holds: as asked (the contract bounds it), 50 when unset (0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSize(i64);

impl PageSize {
    pub const DEFAULT: i64 = 50;

    pub fn new(requested: i32) -> Self {
        match i64::from(requested) {
            0 => Self(Self::DEFAULT),
            n => Self(n),
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
        assert!(ItemName::parse("tab\tinside").is_err());
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
    fn page_size_defaults_to_fifty() {
        assert_eq!(PageSize::new(0).get(), 50);
        assert_eq!(PageSize::new(100).get(), 100);
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
    fn allergens_are_a_set_in_name_order() {
        let allergens = Allergens::new(["MILK", "GLUTEN", "MILK"].map(String::from));
        assert_eq!(allergens.names(), ["GLUTEN", "MILK"]);
    }

    #[test]
    fn ids_must_be_uuids() {
        assert!(parse_id("id", "1").is_err());
        assert!(parse_id("id", &Uuid::new_v4().to_string()).is_ok());
    }
}
