//! Generates the gateway's GraphQL schema from the mesh's contract, where `proto/` asks for it:
//! the object types of the messages marked `mesh.api.v1.graphql_object`, of the messages and
//! enums their fields hold, and their conversions from the proto types (`src/contract.rs`
//! includes them); the root fields of the methods marked `mesh.api.v1.graphql_operation` and
//! their input objects (`src/http/graphql/derived.rs` includes them).

use std::{env, error::Error, fs, path::PathBuf};

use prost_reflect::DescriptorPool;

// The contract read the way `mesh_proto` reads it at run time, from the same files; the build
// uses only some of their functions.
#[allow(dead_code)]
#[path = "../proto/src/bounds.rs"]
mod bounds;
#[allow(dead_code)]
#[path = "../proto/src/words.rs"]
mod words;

#[path = "schema/graphql_roots.rs"]
mod graphql_roots;
#[path = "schema/graphql_types.rs"]
mod graphql_types;

fn main() -> Result<(), Box<dyn Error>> {
    // Where mesh-proto's build wrote the descriptor set (its `links` metadata).
    let descriptor_set = env::var("DEP_MESH_PROTO_DESCRIPTOR_SET")?;
    println!("cargo::rerun-if-changed={descriptor_set}");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=schema/");
    println!("cargo::rerun-if-changed=../proto/src/words.rs");
    println!("cargo::rerun-if-changed=../proto/src/bounds.rs");

    let pool = DescriptorPool::decode(fs::read(&descriptor_set)?.as_slice())?;
    let options = graphql_types::Options::of(&pool)?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out.join("graphql_types.rs"),
        graphql_types::generate(&pool, &options)?,
    )?;
    fs::write(
        out.join("graphql_roots.rs"),
        graphql_roots::generate(&pool, &options)?,
    )?;
    Ok(())
}
