//! order-service: settings → telemetry → build → run until SIGTERM/Ctrl-C; or, with
//! `rebuild-projection`, rewrite its read model from the event table and exit.

use std::process::ExitCode;

use mesh_kit::startup::{self, Command};
use order_service::Settings;

/// See the workspace `Cargo.toml` for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let settings: Settings = mesh_kit::settings::parse();
    startup::run_service("order-service", &settings.service.log, || async {
        let config = settings.config()?;
        match settings.command {
            None => {
                let app = order_service::build(config).await?;
                app.run_until_stopped(mesh_kit::shutdown::signal()).await
            }
            Some(Command::RebuildProjection) => {
                order_service::service(&config).rebuild_projection().await
            }
        }
    })
}
