//! What a query reads of an answer, as the AIP-157 read mask of the backend call that fetches
//! it: the proto fields whose GraphQL field (its JSON name, as the generated types spell it) the
//! selection holds, so a service loads nothing the query leaves out (an order's history, a
//! delivery's).

use async_graphql::Context;
use mesh_proto::{Name, descriptors, read_mask::ReadMask};

/// The fields of `Answer` the field being resolved selects, and `always` (what the gateway
/// itself reads of the answer: its id, its owner). Every field if `Answer` is not in the
/// contract.
pub(super) fn read_mask<Answer: Name>(ctx: &Context<'_>, always: &[&str]) -> ReadMask {
    let Some(message) = descriptors::message_of::<Answer>() else {
        return ReadMask::all();
    };
    let selection = ctx.look_ahead();
    let selected = message
        .fields()
        .filter(|field| {
            !always.contains(&field.name()) && selection.field(field.json_name()).exists()
        })
        .map(|field| field.name().to_owned());
    ReadMask::fields(
        always
            .iter()
            .map(|field| (*field).to_owned())
            .chain(selected),
    )
}
