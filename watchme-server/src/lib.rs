//! x
pub mod cli { pub async fn main() -> std::process::ExitCode { std::process::ExitCode::SUCCESS } }
