//! `tansu`, the broker `scripts/up` and `scripts/test` run on this machine: tansu 0.6.0's own
//! command line (`tansu broker --storage-engine sqlite://…`), with only its SQLite store
//! compiled in.

use tansu_broker::{TracingFormat, otel};
use tansu_sans_io::ErrorCode;

#[tokio::main]
async fn main() -> tansu_cli::Result<ErrorCode> {
    let _guard = otel::init(TracingFormat::Text)?;
    tansu_cli::Cli::main().await
}
