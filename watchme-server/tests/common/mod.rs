//! An in-process WatchMe over memory adapters, driven by poem's TestClient.

#![allow(dead_code)]

use std::sync::Arc;

use poem::endpoint::BoxEndpoint;
use poem::test::{TestClient, TestResponse};
use poem::EndpointExt;
use serde_json::{json, Value};
use watchme_server::app::{build_state, SigningKeys, Storage, Wiring};
use watchme_server::RawConfig;

/// The client every server test drives.
pub type Client = TestClient<BoxEndpoint<'static>>;

pub struct TestApp {
    pub client: Arc<Client>,
    pub wiring: Wiring,
}

/// The test configuration: memory storage, cheap argon2 (the OWASP default is
/// tested in the adapter), root@example.com as admin, 4 KiB bodies.
pub fn test_config() -> RawConfig {
    let mut raw = RawConfig::defaults();
    raw.database.database_url = Some("memory:".into());
    raw.accounts.argon2_memory_kib = "256".into();
    raw.accounts.argon2_iterations = "1".into();
    raw.accounts.admin_emails = "root@example.com".into();
    raw.server.max_body_kib = "4".into();
    // Generous budgets: the tests of rate limiting set their own.
    raw.security.rate_anonymous = "100000/60".into();
    raw.security.rate_user = "100000/60".into();
    raw.security.rate_auth_ip = "1000/60".into();
    raw.security.rate_auth_account = "1000/60".into();
    raw
}

/// The whole server over `raw`, in process.
pub async fn build(raw: RawConfig) -> TestApp {
    let config = raw.validate().expect("test config is valid");
    let storage = Storage::open(&config, true).await.expect("storage");
    let keys = SigningKeys::hs256(b"test-secret-test-secret-test-secret!").expect("key");
    let wiring = build_state(&config, storage, keys).expect("state");
    let ep = watchme_server::api::app(wiring.state.clone()).boxed();
    TestApp { client: Arc::new(TestClient::new(ep)), wiring }
}

pub async fn app() -> TestApp {
    build(test_config()).await
}

/// Registers `email` (password `correct horse`) unless it exists, logs in, returns the access token.
pub async fn token(client: &Client, email: &str) -> String {
    let creds = json!({"email": email, "password": "correct horse"});
    client.post("/auth/register").body_json(&creds).send().await;
    let resp = client.post("/auth/login").body_json(&creds).send().await;
    resp.assert_status_is_ok();
    body(resp).await["access_token"].as_str().expect("token").to_owned()
}

impl TestApp {
    /// Simulates a database outage (`false`) or its end (`true`).
    pub fn set_storage_available(&self, available: bool) {
        self.wiring.storage.memory.as_ref().expect("memory storage").set_available(available);
    }

    /// Writes the counted anonymous views, then publishes every pending event to analytics.
    pub async fn drain(&self) {
        self.wiring.state.library.flush_anonymous_views().await.expect("flush");
        while self.wiring.relay.run_once().await.expect("relay") > 0 {}
    }

    pub async fn register(&self, email: &str) -> TestResponse {
        self.client.post("/auth/register").body_json(&json!({"email": email, "password": "correct horse"})).send().await
    }

    pub async fn token(&self, email: &str) -> String {
        token(&self.client, email).await
    }
}

pub async fn body(resp: TestResponse) -> Value {
    let bytes = resp.0.into_body().into_bytes().await.expect("body");
    if bytes.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&bytes).expect("JSON body")
}

pub fn header(resp: &TestResponse, name: &str) -> Option<String> {
    resp.0.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Asserts the one error shape and returns the body.
pub async fn assert_error(resp: TestResponse, status: u16, case: &str) -> Value {
    assert_eq!(resp.0.status().as_u16(), status, "case: {case}");
    let rid = header(&resp, "x-request-id").expect("x-request-id");
    let v = body(resp).await;
    assert!(v["code"].is_string() && v["message"].is_string(), "case: {case}: {v}");
    assert_eq!(v["request_id"].as_str(), Some(rid.as_str()), "case: {case}: request id in body and header");
    v
}
