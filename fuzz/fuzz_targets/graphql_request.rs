//! `cargo fuzz run graphql_request`; see `mesh_fuzz::graphql_request`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mesh_fuzz::graphql_request(data));

#[cfg(not(fuzzing))]
fn main() {
    mesh_fuzz::replay(mesh_fuzz::graphql_request);
}
