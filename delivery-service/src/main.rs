//! delivery-service: config → telemetry → build → run until SIGTERM/Ctrl-C; or, with
//! `rebuild-projection`, rewrite its read model from the event table and exit.

use std::process::ExitCode;

use delivery_service::Config;
use mesh_kit::startup::{self, Command};

/// See the workspace `Cargo.toml` for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    startup::run_command("delivery-service", |command| async move {
        let config = Config::from_env()?;
        match command {
            Command::Serve => {
                let app = delivery_service::build(config).await?;
                app.run_until_stopped(mesh_kit::shutdown::signal()).await
            }
            Command::RebuildProjection => delivery_service::rebuild_projection(&config).await,
        }
    })
}
