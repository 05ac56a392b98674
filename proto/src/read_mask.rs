//! Which fields of an answer a caller reads: a request's AIP-157 `read_mask`
//! (`google.protobuf.FieldMask`), checked against the answer's message, so a misspelt path is an
//! error rather than a quietly partial answer.

use prost::Name;

use crate::descriptors;

/// The top-level fields of an answer a caller reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadMask {
    /// `None`: every field.
    fields: Option<Vec<String>>,
}

impl ReadMask {
    /// Every field: what a request without a mask asks for.
    pub fn all() -> Self {
        Self { fields: None }
    }

    /// `mask` over the fields of `Answer`. Left out, empty, or holding `*`, it reads every
    /// field; a path whose first name is no field of `Answer` is an error saying so (the
    /// reason, for the `read_mask` field's INVALID_ARGUMENT).
    pub fn of<Answer: Name>(mask: Option<&prost_types::FieldMask>) -> Result<Self, String> {
        let Some(mask) = mask.filter(|mask| !mask.paths.is_empty()) else {
            return Ok(Self::all());
        };
        if mask.paths.iter().any(|path| path == "*") {
            return Ok(Self::all());
        }
        let message = descriptors::message_of::<Answer>()
            .ok_or_else(|| format!("{} is not in the contract", Answer::full_name()))?;
        let mut fields = Vec::with_capacity(mask.paths.len());
        for path in &mask.paths {
            let first = path.split('.').next().unwrap_or_default();
            if message.get_field_by_name(first).is_none() {
                return Err(format!("`{path}` is no field of {}", message.name()));
            }
            fields.push(first.to_owned());
        }
        Ok(Self {
            fields: Some(fields),
        })
    }

    /// A mask reading `fields` (top-level names, as the proto spells them), for a request.
    pub fn fields<Field: Into<String>>(fields: impl IntoIterator<Item = Field>) -> Self {
        Self {
            fields: Some(fields.into_iter().map(Into::into).collect()),
        }
    }

    /// A mask reading every field of `Answer` but `left_out`; every field if `Answer` is not in
    /// the contract.
    pub fn all_but<Answer: Name>(left_out: &[&str]) -> Self {
        let Some(message) = descriptors::message_of::<Answer>() else {
            return Self::all();
        };
        Self::fields(
            message
                .fields()
                .map(|field| field.name().to_owned())
                .filter(|field| !left_out.contains(&field.as_str())),
        )
    }

    /// The request's `read_mask`: `None` for every field.
    pub fn to_proto(&self) -> Option<prost_types::FieldMask> {
        self.fields.as_ref().map(|fields| prost_types::FieldMask {
            paths: fields.clone(),
        })
    }

    /// Whether the caller reads `field` (a top-level field name, as the proto spells it).
    pub fn reads(&self, field: &str) -> bool {
        self.fields
            .as_ref()
            .is_none_or(|fields| fields.iter().any(|read| read == field))
    }
}

#[cfg(test)]
mod tests {
    use prost_types::FieldMask;

    use super::ReadMask;
    use crate::order::v1::Order;

    fn mask(paths: &[&str]) -> FieldMask {
        FieldMask {
            paths: paths.iter().map(|path| (*path).to_owned()).collect(),
        }
    }

    #[test]
    fn no_mask_an_empty_one_or_a_star_reads_everything() {
        for read in [
            ReadMask::of::<Order>(None),
            ReadMask::of::<Order>(Some(&mask(&[]))),
            ReadMask::of::<Order>(Some(&mask(&["*"]))),
        ] {
            assert_eq!(read, Ok(ReadMask::all()));
        }
        assert!(ReadMask::all().reads("history"));
    }

    #[test]
    fn reads_the_named_fields_and_the_fields_of_nested_paths() {
        let read = ReadMask::of::<Order>(Some(&mask(&["id", "items.name"]))).unwrap();
        assert!(read.reads("id"));
        assert!(read.reads("items"));
        assert!(!read.reads("history"));
    }

    #[test]
    fn a_mask_made_for_a_request_reads_back_the_same() {
        let sent = ReadMask::fields(["id", "customer_id"]);
        assert_eq!(ReadMask::of::<Order>(sent.to_proto().as_ref()), Ok(sent));
        assert_eq!(ReadMask::all().to_proto(), None);
    }

    #[test]
    fn all_but_names_every_other_field() {
        let read = ReadMask::all_but::<Order>(&["history"]);
        assert!(read.reads("items") && read.reads("created_at"));
        assert!(!read.reads("history"));
        assert_eq!(ReadMask::of::<Order>(read.to_proto().as_ref()), Ok(read));
    }

    #[test]
    fn a_path_the_answer_lacks_is_refused_by_name() {
        assert_eq!(
            ReadMask::of::<Order>(Some(&mask(&["id", "histroy"]))),
            Err("`histroy` is no field of Order".to_owned())
        );
    }
}
