//! billing-service: config → telemetry → Application::build → run until SIGTERM/Ctrl-C.

use std::process::ExitCode;

use billing_service::{Application, Config};

fn main() -> ExitCode {
    mesh_kit::startup::run_service("billing-service", || async {
        let app = Application::build(Config::from_env()?).await?;
        app.run_until_stopped(mesh_kit::shutdown::signal()).await
    })
}
