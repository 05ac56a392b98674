//! Generates the gateway's GraphQL object types from the mesh's contract: the messages `proto/`
//! marks with `mesh.api.v1.graphql_object`, the messages and enums their fields hold, and their
//! conversions from the proto types (`src/contract.rs` includes them).

use std::{env, error::Error, fs, path::PathBuf};

use prost_reflect::DescriptorPool;

// Only `comment` and `enum_prefix` are needed here; the file also serves `mesh_proto`.
#[allow(dead_code)]
#[path = "../proto/src/words.rs"]
mod words;

#[path = "build/graphql_types.rs"]
mod graphql_types;

fn main() -> Result<(), Box<dyn Error>> {
    // Where mesh-proto's build wrote the descriptor set (its `links` metadata).
    let descriptor_set = env::var("DEP_MESH_PROTO_DESCRIPTOR_SET")?;
    println!("cargo::rerun-if-changed={descriptor_set}");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=build/graphql_types.rs");
    println!("cargo::rerun-if-changed=../proto/src/words.rs");

    let pool = DescriptorPool::decode(fs::read(&descriptor_set)?.as_slice())?;
    let code = graphql_types::generate(&pool)?;
    let out = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(out.join("graphql_types.rs"), code)?;
    Ok(())
}
