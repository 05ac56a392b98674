//! Batch lookups by id, as every service's `BatchGet…` RPC answers them: each id a UUID,
//! duplicates answered once, results in the order the ids first appear, and the ids with nothing
//! behind them reported rather than treated as errors. How many ids a call may name is the
//! contract's rule (`max_items` in `proto/`), checked as the request is decoded.

use std::collections::{HashMap, HashSet};

use uuid::Uuid;

use crate::InvalidField;

/// The distinct ids of a batch request, in the order they first appear.
pub fn parse_ids(field: &'static str, raw: &[String]) -> Result<Vec<Uuid>, InvalidField> {
    let mut seen = HashSet::with_capacity(raw.len());
    let mut ids = Vec::with_capacity(raw.len());
    for id in raw {
        let id =
            Uuid::parse_str(id.trim()).map_err(|_| InvalidField::new(field, "must be a UUID"))?;
        if seen.insert(id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// What was `found` for the `wanted` ids, in their order, and the ids nothing was found for.
pub fn in_request_order<T>(
    wanted: &[Uuid],
    found: Vec<T>,
    id_of: impl Fn(&T) -> Uuid,
) -> (Vec<T>, Vec<Uuid>) {
    let mut by_id: HashMap<Uuid, T> = found.into_iter().map(|item| (id_of(&item), item)).collect();
    let mut ordered = Vec::with_capacity(by_id.len());
    let mut missing = Vec::new();
    for id in wanted {
        match by_id.remove(id) {
            Some(item) => ordered.push(item),
            None => missing.push(*id),
        }
    }
    (ordered, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_answered_once_in_first_appearance_order() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let raw = [b, a, b].map(|id| id.to_string());
        assert_eq!(parse_ids("ids", &raw).unwrap(), [b, a]);
    }

    #[test]
    fn a_bad_id_is_invalid() {
        assert!(parse_ids("ids", &["nope".to_owned()]).is_err());
    }

    #[test]
    fn results_follow_the_request_and_missing_ids_are_reported() {
        let [a, b, c] = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        let (found, missing) = in_request_order(&[a, b, c], vec![c, a], |id| *id);
        assert_eq!(found, [a, c]);
        assert_eq!(missing, [b]);
    }
}
