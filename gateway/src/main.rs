//! gateway: settings → telemetry → Application::build → serve until SIGTERM/Ctrl-C.

use std::process::ExitCode;

use gateway::{Application, Settings};

/// See the workspace `Cargo.toml` for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let settings: Settings = mesh_kit::settings::parse();
    mesh_kit::startup::run_service("gateway", &settings.log, || async {
        let app = Application::build(settings.config()?).await?;
        app.run_until_stopped(mesh_kit::shutdown::signal()).await
    })
}
