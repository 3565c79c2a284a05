//! The `watchme` command: serves the API (default) and runs operator tasks.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    watchme_server::cli::main().await
}
