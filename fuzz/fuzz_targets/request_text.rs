//! `cargo fuzz run request_text`; see `mesh_fuzz::request_text`.
#![cfg_attr(fuzzing, no_main)]

#[cfg(fuzzing)]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mesh_fuzz::request_text(data));

#[cfg(not(fuzzing))]
fn main() {
    mesh_fuzz::replay(mesh_fuzz::request_text);
}
