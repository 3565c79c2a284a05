//! Starting and stopping the real `watchme` binary, and databases for it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sqlx::Row;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use watchme_adapters::sql::{SqlOptions, SqlStore};

/// A running server process.
pub struct Server {
    pub child: Child,
    pub base: String,
    /// Every line the server wrote to stdout (its JSON log) so far.
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("watchme-{tag}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).expect("temp dir");
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `watchme` with a clean environment plus `envs` and `args`.
pub fn command(envs: &[(&str, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_watchme"));
    cmd.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("WATCHME_LOG_FORMAT", "json");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.args(args);
    cmd
}

/// Starts `watchme serve` on a free port and waits for its `listening` line.
pub async fn start(data_dir: &Path, extra: &[(&str, String)]) -> Server {
    let mut envs: Vec<(&str, String)> = vec![
        ("WATCHME_BIND", "127.0.0.1:0".into()),
        ("WATCHME_DATA_DIR", data_dir.display().to_string()),
        ("WATCHME_OUTBOX_POLL_MS", "50".into()),
        // Cheap argon2 keeps the walk fast; the OWASP default is tested in the adapter.
        ("WATCHME_ARGON2_MEMORY_KIB", "1024".into()),
        // Every test client is 127.0.0.1: generous budgets unless a test sets its own.
        ("WATCHME_RATE_ANONYMOUS", "100000/60".into()),
        ("WATCHME_RATE_USER", "100000/60".into()),
        ("WATCHME_RATE_AUTH_IP", "1000/60".into()),
        ("WATCHME_RATE_AUTH_ACCOUNT", "1000/60".into()),
    ];
    envs.extend(extra.iter().cloned());
    let mut child = command(&envs, &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("start the watchme binary");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let addr = loop {
        let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
            .await
            .expect("server announced its address in time")
            .expect("read stdout")
            .expect("server exited before listening");
        logs.lock().unwrap().push(line.clone());
        let Ok(v) = serde_json::from_str::<Value>(&line) else { panic!("log line is not JSON: {line}") };
        if v["message"] == "listening" && v["target"] == "watchme_server::app" {
            break v["addr"].as_str().expect("addr field").to_owned();
        }
    };
    // WATCHME_TEST_LOG_DIR keeps each server's log, for debugging a failed run.
    let mut keep = std::env::var_os("WATCHME_TEST_LOG_DIR").map(|d| {
        let path = Path::new(&d).join(format!("server-{}.log", addr.replace(':', "_")));
        std::fs::File::create(path).expect("log file")
    });
    let sink = logs.clone();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(f) = keep.as_mut() {
                use std::io::Write;
                let _ = writeln!(f, "{line}");
            }
            sink.lock().unwrap().push(line);
        }
    });
    Server { child, base: format!("http://{addr}"), logs }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("pid").to_string();
        let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("stops in time")
            .expect("wait");
        assert!(status.success(), "exit status {status:?}");
    }
}

pub async fn json_of(resp: reqwest::Response, status: u16) -> Value {
    let got = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    assert_eq!(got, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Logs `email` in (password `correct horse`) and returns its `Authorization` value.
pub async fn login(http: &reqwest::Client, base: &str, email: &str) -> String {
    let login = json_of(
        http.post(format!("{base}/auth/login"))
            .json(&json!({"email": email, "password": "correct horse"}))
            .send()
            .await
            .unwrap(),
        200,
    )
    .await;
    format!("Bearer {}", login["access_token"].as_str().expect("access_token"))
}

/// The application tables (everything but sqlx's own bookkeeping).
pub const TABLES: &[&str] = &[
    "users",
    "sessions",
    "refresh_tokens",
    "views",
    "favorites",
    "library_entries",
    "outbox",
    "analytics_applied",
    "movie_stats",
    "movie_viewers",
    "movie_views_hourly",
    "users_registered",
    "users_active_hourly",
    "plays",
    "user_activity",
    "movie_plays_hourly",
    "api_tokens",
    "user_lists",
    "list_items",
    "playbacks",
    "device_grants",
];

/// Every row of every table, as sorted text, for comparing two databases.
pub async fn dump(url: &str) -> Vec<(String, Vec<String>)> {
    let store = SqlStore::connect_lazy(url, &SqlOptions::default()).expect("url");
    let mut out = Vec::new();
    for table in TABLES {
        let rows = sqlx::query(&format!("SELECT * FROM {table}")).fetch_all(store.pool()).await.expect("select");
        let mut lines: Vec<String> = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        r.try_get::<Option<i64>, _>(i)
                            .map(|v| format!("{v:?}"))
                            .or_else(|_| r.try_get::<Option<String>, _>(i).map(|v| format!("{v:?}")))
                            .or_else(|_| r.try_get::<Option<f64>, _>(i).map(|v| format!("{v:?}")))
                            .expect("every column is BIGINT, TEXT or DOUBLE PRECISION")
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        lines.sort();
        out.push((table.to_string(), lines));
    }
    store.close().await;
    out
}

/// A command of the OpenAPI tests' Python tools (schemathesis,
/// openapi-python-client, python), from the virtualenv that
/// `scripts/test-tools.sh` makes; panics with that instruction when missing.
pub fn tool(name: &str) -> PathBuf {
    let dir =
        std::env::var_os("WATCHME_TEST_TOOLS_DIR").filter(|d| !d.is_empty()).map(PathBuf::from).unwrap_or_else(|| {
            Path::new(&std::env::var_os("HOME").expect("HOME is set")).join(".cache/watchme-test-tools")
        });
    let path = dir.join("venv/bin").join(name);
    assert!(path.is_file(), "{name} (install it with scripts/test-tools.sh): not found at {}", path.display());
    path
}

/// Registers `email` with `password` through the API; panics unless it answers 201.
pub async fn register(http: &reqwest::Client, base: &str, email: &str, password: &str) {
    let resp = http
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("register");
    json_of(resp, 201).await;
}
