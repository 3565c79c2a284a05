//! The `watchme` command: serves the API (default) and runs operator tasks.

// mimalloc keeps per-thread free lists: glibc malloc's arena locks, contended
// when one worker frees what another allocated, cost a futex wake and a
// context switch on about every other cached movie page (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    watchme_server::cli::main().await
}
