//! delivery-service: config → telemetry → Application::build → run until SIGTERM/Ctrl-C.

use std::process::ExitCode;

use delivery_service::{Application, Config};

fn main() -> ExitCode {
    mesh_kit::startup::run_service("delivery-service", || async {
        let app = Application::build(Config::from_env()?).await?;
        app.run_until_stopped(mesh_kit::shutdown::signal()).await
    })
}
