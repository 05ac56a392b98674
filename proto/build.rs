//! Compiles the `*.proto` files beside this script with tonic and writes the file descriptor set that reflection serves.

use std::{env, error::Error, path::PathBuf};

const PROTOS: &[&str] = &[
    "menu.proto",
    "inventory.proto",
    "order.proto",
    "delivery.proto",
    "billing.proto",
    "event_record.proto",
    "events.proto",
];

fn main() -> Result<(), Box<dyn Error>> {
    // protoc comes from crates.io (protoc-bin-vendored), so `cargo build` needs no system package
    // and every machine compiles the contracts with the same protoc.
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    let well_known = protoc_bin_vendored::include_path()?;
    let descriptor = PathBuf::from(env::var("OUT_DIR")?).join("mesh_descriptor.bin");

    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    // `prost::Name` on every message: the JSON codec finds a message's descriptor by its full
    // name, and events carry that name as their CloudEvents type.
    config.enable_type_names();

    let protos: Vec<PathBuf> = PROTOS.iter().map(PathBuf::from).collect();
    tonic_prost_build::configure()
        .file_descriptor_set_path(&descriptor)
        .compile_with_config(config, &protos, &[PathBuf::from("."), well_known])?;

    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    Ok(())
}
