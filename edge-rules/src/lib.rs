//! What every client input must keep, checked at the gateway's edge (and, for the text rule, by
//! each service's own field rules): [`text`], the rule for one string; [`inputs`], that rule on
//! every string of a URL, a JSON body and a GraphQL operation; [`graphql`], the bounds of a
//! GraphQL document before parsing and the operation limits after.
//!
//! Nothing here does I/O or knows a web framework: it is the part of the edge that reads what a
//! client wrote, so it is the part `fuzz/` feeds arbitrary bytes to, and it must stay small
//! enough to build instrumented in a minute.

mod field;
pub mod graphql;
pub mod inputs;
pub mod text;

pub use field::InvalidField;
