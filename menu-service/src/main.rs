//! menu-service: config → telemetry → Application::build → run until SIGTERM/Ctrl-C.

use std::process::ExitCode;

use menu_service::{Application, Config};

/// See the workspace `Cargo.toml` for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    mesh_kit::startup::run_service("menu-service", || async {
        let app = Application::build(Config::from_env()?).await?;
        app.run_until_stopped(mesh_kit::shutdown::signal()).await
    })
}
