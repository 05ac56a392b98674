//! delivery-service: settings → telemetry → build → run until SIGTERM/Ctrl-C; or, with
//! `rebuild-projection`, rewrite its read model from the event table and exit.

use std::process::ExitCode;

use delivery_service::Settings;
use mesh_kit::startup::{self, Command};

/// See the workspace `Cargo.toml` for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let settings: Settings = mesh_kit::settings::parse();
    startup::run_service("delivery-service", &settings.service.log, || async {
        let config = settings.config()?;
        match settings.command {
            None => {
                let app = delivery_service::build(config).await?;
                app.run_until_stopped(mesh_kit::shutdown::signal()).await
            }
            Some(Command::RebuildProjection) => {
                delivery_service::service(&config)
                    .rebuild_projection()
                    .await
            }
        }
    })
}
