//! order-service: config → telemetry → build → run until SIGTERM/Ctrl-C; or, with
//! `rebuild-projection`, rewrite its read model from the event table and exit.

use std::process::ExitCode;

use mesh_kit::startup::{self, Command};
use order_service::Config;

/// See the workspace `Cargo.toml` for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    startup::run_command("order-service", |command| async move {
        let config = Config::from_env()?;
        match command {
            Command::Serve => {
                let app = order_service::build(config).await?;
                app.run_until_stopped(mesh_kit::shutdown::signal()).await
            }
            Command::RebuildProjection => order_service::rebuild_projection(&config).await,
        }
    })
}
