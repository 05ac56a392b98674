//! Compiles the `*.proto` files beside this script with tonic and writes the file descriptor set
//! that reflection serves and the gateway reads its annotations from.

use std::{
    env,
    error::Error,
    path::{Path, PathBuf},
    process::Command,
};

const PROTOS: &[&str] = &[
    "api.proto",
    "menu.proto",
    "inventory.proto",
    "order.proto",
    "delivery.proto",
    "billing.proto",
    "event_record.proto",
    "events.proto",
];

/// `google/api/annotations.proto` and `http.proto` (the `google.api.http` option on each RPC)
/// and `field_behavior.proto`: Google's own files, from the PyPI package Google publishes them
/// in, pinned by hash. Never a copy committed here.
const GOOGLEAPIS_REQUIREMENT: &str = "googleapis-common-protos==1.76.0 \
    --hash=sha256:59e13344a9f3651aa201a03e2bee815a3bf43a4baf1f9ff8a9b62a840ce25fac";

fn main() -> Result<(), Box<dyn Error>> {
    // protoc is the machine's (`PROTOC`, else `protoc` on the PATH, with the well-known types
    // installed beside it): Debian's protobuf-compiler and libprotobuf-dev, which the scripts
    // and the Dockerfile install. The validator crate's own build needs one too, so one protoc
    // compiles every `.proto`.
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let descriptor = out.join("mesh_descriptor.bin");
    let googleapis = googleapis_dir(&out)?;
    let validate = validate_descriptors(&out)?;

    let mut config = tonic_prost_build::Config::new();
    // `prost::Name` on every message: the JSON codec finds a message's descriptor by its full
    // name, and events carry that name as their CloudEvents type.
    config.enable_type_names();

    let protos: Vec<PathBuf> = PROTOS.iter().map(PathBuf::from).collect();
    tonic_prost_build::configure()
        // protoc's own bytes, options and all: the gateway reads `google.api.http` from them.
        .file_descriptor_set_path(&descriptor)
        // Every request a service decodes is checked against its `buf.validate` rules first.
        .codec_path("crate::codec::ValidatingCodec")
        .protoc_arg(format!("--descriptor_set_in={}", validate.display()))
        .compile_with_config(config, &protos, &[googleapis, PathBuf::from(".")])?;

    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    println!("cargo:rerun-if-env-changed=GOOGLEAPIS_PROTO_DIR");
    // The gateway's build generates its GraphQL types from this set.
    println!("cargo::metadata=descriptor_set={}", descriptor.display());
    Ok(())
}

/// `buf/validate/validate.proto` (the protovalidate rules our fields carry) and what it imports,
/// as the descriptors the validator crate was built from: protoc imports them from this set, so
/// the rules we write and the rules it evaluates are one version, with no `.proto` copy here.
fn validate_descriptors(out: &Path) -> Result<PathBuf, Box<dyn Error>> {
    let path = out.join("buf_validate.binpb");
    std::fs::write(
        &path,
        prost_protovalidate_types::DESCRIPTOR_POOL.encode_to_vec(),
    )?;
    Ok(path)
}

/// Where `google/api/*.proto` are: `GOOGLEAPIS_PROTO_DIR` when set (an offline build points it
/// at a directory holding `google/api/`), else the package downloaded from PyPI into `out` once.
fn googleapis_dir(out: &Path) -> Result<PathBuf, Box<dyn Error>> {
    if let Some(dir) = env::var_os("GOOGLEAPIS_PROTO_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let dir = out.join("googleapis");
    if dir.join("google/api/http.proto").is_file() {
        return Ok(dir);
    }
    let wheels = out.join("googleapis-wheel");
    let requirements = out.join("googleapis-requirements.txt");
    std::fs::write(&requirements, GOOGLEAPIS_REQUIREMENT)?;
    run(Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args([
            "--no-deps",
            "--only-binary=:all:",
            "--require-hashes",
            "--dest",
        ])
        .arg(&wheels)
        .arg("--requirement")
        .arg(&requirements))?;
    let wheel = std::fs::read_dir(&wheels)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .find(|path| path.extension().is_some_and(|ext| ext == "whl"))
        .ok_or("pip downloaded no wheel of googleapis-common-protos")?;
    run(Command::new("python3")
        .args(["-m", "zipfile", "--extract"])
        .arg(&wheel)
        .arg(&dir))?;
    Ok(dir)
}

fn run(command: &mut Command) -> Result<(), Box<dyn Error>> {
    let status = command.status().map_err(|err| {
        format!(
            "cannot run {command:?} ({err}): the build fetches google/api/*.proto with python3 \
             and pip, or set GOOGLEAPIS_PROTO_DIR to a directory holding google/api/"
        )
    })?;
    if !status.success() {
        return Err(format!("{command:?} failed ({status})").into());
    }
    Ok(())
}
