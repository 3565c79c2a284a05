//! The benchmark baseline of `scripts/bench-cache.sh`: a bare poem handler
//! that answers every request with fixed JSON bytes (the body of a WatchMe
//! movie page), so the cost WatchMe adds per request can be measured.
//!
//! Run with `cargo run --release --example bare_handler -- 127.0.0.1:18190 body.json`.

use poem::listener::TcpListener;
use poem::{EndpointExt, Response, Route, Server};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18190".into());
    let body = std::fs::read(args.next().ok_or("usage: bare_handler ADDR BODY_FILE")?)?;
    // Shared bytes: each answer copies about a kilobyte, as a real handler would serialise one.
    let body = std::sync::Arc::new(body);

    let app = Route::new().at(
        "/movies/:id",
        poem::endpoint::make_sync(move |_| {
            Response::builder().content_type("application/json; charset=utf-8").body(body.as_ref().clone())
        }),
    );
    Server::new(TcpListener::bind(addr)).run(app.boxed()).await?;
    Ok(())
}
