//! Webhooks against the real binary, with deliveries shaped as each media
//! server sends them: Plex (multipart with a thumbnail), Jellyfin (the
//! official plugin's fields and the unofficial plugin's JSON), Emby, and
//! the generic JSON; and the refusals: a wrong secret, a body too large, a
//! payload that is not JSON.

mod support;

use serde_json::{json, Value};
use support::{json_of, register, start, Server, TempDir};

const PASSWORD: &str = "correct horse battery";

async fn login(http: &reqwest::Client, server: &Server, email: &str) -> String {
    register(http, &server.base, email, PASSWORD).await;
    let body = json!({"email": email, "password": PASSWORD});
    let login = json_of(http.post(server.url("/auth/login")).json(&body).send().await.unwrap(), 200).await;
    login["access_token"].as_str().unwrap().to_owned()
}

async fn hook(http: &reqwest::Client, server: &Server, token: &str, kind: &str, user: Option<&str>) -> String {
    let mut body = json!({"kind": kind});
    if let Some(u) = user {
        body["media_server_user"] = json!(u);
    }
    let made =
        json_of(http.post(server.url("/me/webhooks")).bearer_auth(token).json(&body).send().await.unwrap(), 201).await;
    let url = made["url"].as_str().unwrap();
    assert!(url.starts_with("http://127.0.0.1:") && url.contains(&format!("/webhooks/{kind}/")), "{made}");
    url.split_once("/webhooks").map(|(_, p)| format!("/webhooks{p}")).unwrap()
}

/// A Plex delivery: multipart, the JSON in `payload`, a JPEG in `thumb`.
fn plex(event: &str, kind: &str, offset_ms: u64) -> (String, Vec<u8>) {
    let payload = json!({
        "event": event, "user": true, "owner": true,
        "Account": {"id": 1, "thumb": "https://plex.tv/users/x/avatar", "title": "ada"},
        "Server": {"title": "den", "uuid": "abc"},
        "Player": {"local": true, "publicAddress": "203.0.113.5", "title": "Living Room", "uuid": "p1"},
        "Metadata": {
            "librarySectionType": "movie", "ratingKey": "42", "guid": "plex://movie/5d776b59ad5437001f79c6f8",
            "type": kind, "title": "Fight Club", "year": 1999, "duration": 8_340_000, "viewOffset": offset_ms,
            "Guid": [{"id": "imdb://tt0137523"}, {"id": "tmdb://550"}, {"id": "tvdb://1234"}]
        }
    });
    let boundary = "------------------------plexboundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"payload\"\r\nContent-Type: application/json\r\n\r\n{payload}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"thumb\"; filename=\"thumb.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&[0xFF, 0xD8, 0xFF, 0xE0]);
    body.extend(std::iter::repeat_n(0x5Au8, 200_000));
    body.extend_from_slice(&[0xFF, 0xD9]);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post(http: &reqwest::Client, server: &Server, path: &str, ct: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = http.post(server.url(path)).header("content-type", ct).body(body).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn plays(http: &reqwest::Client, server: &Server, token: &str) -> Vec<(u64, String)> {
    let h = json_of(http.get(server.url("/me/history")).bearer_auth(token).send().await.unwrap(), 200).await;
    h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["movie"]["id"].as_u64().unwrap(), p["source"].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// Sends only a request's headers announcing `length` bytes, and reads the answer.
async fn raw_headers_only(server: &Server, path: &str, length: usize) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = server.base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: {length}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("answered in time")
        .unwrap();
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn media_servers_scrobble_through_their_webhooks() {
    let dir = TempDir::new("webhooks");
    let server = start(&dir.0, &[]).await;
    let http = reqwest::Client::new();
    let ada = login(&http, &server, "ada@example.com").await;

    let plex_url = hook(&http, &server, &ada, "plex", Some("ada")).await;
    let (ct, body) = plex("media.scrobble", "movie", 7_600_000);
    let (status, answer) = post(&http, &server, &plex_url, &ct, body).await;
    assert_eq!((status, answer["event"].as_str()), (200, Some("media.scrobble")), "{answer}");
    assert!(answer["accepted"].is_string(), "{answer}");
    assert_eq!(plays(&http, &server, &ada).await.len(), 1, "the scrobble is a play");
    let (ct, body) = plex("media.stop", "movie", 8_000_000);
    let (status, answer) = post(&http, &server, &plex_url, &ct, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(plays(&http, &server, &ada).await.len(), 1, "the stop within the window adds nothing: {answer}");
    let (ct, body) = plex("media.scrobble", "episode", 7_600_000);
    let (status, answer) = post(&http, &server, &plex_url, &ct, body).await;
    assert_eq!((status, answer["ignored"].as_str()), (200, Some("a episode, not a film")), "{answer}");
    let (ct, body) = plex("library.new", "movie", 0);
    assert!(post(&http, &server, &plex_url, &ct, body).await.1["ignored"].is_string(), "untracked events are ignored");

    let jellyfin_url = hook(&http, &server, &ada, "jellyfin", None).await;
    let official = json!({
        "ServerId": "s", "ServerName": "jelly", "NotificationType": "PlaybackStop", "ItemType": "Movie", "Name": "The Matrix",
        "Year": 1999, "Provider_tmdb": "603", "Provider_imdb": "tt0133093", "PlayedToCompletion": "True",
        "PlaybackPositionTicks": 81_000_000_000u64, "RunTimeTicks": 81_600_000_000u64, "NotificationUsername": "ada"
    });
    let (status, answer) =
        post(&http, &server, &jellyfin_url, "application/json", official.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    let progress = json!({
        "Event": "PlaybackProgress", "User": {"Name": "ada"},
        "Item": {"Type": "Movie", "Name": "Inception", "ProductionYear": 2010, "ProviderIds": {"Tmdb": "27205"},
                 "RunTimeTicks": 1000, "UserData": {"Played": false, "PlaybackPositionTicks": 300}}
    });
    let (status, answer) =
        post(&http, &server, &jellyfin_url, "application/json", progress.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    let watching = json_of(http.get(server.url("/me/watching")).bearer_auth(&ada).send().await.unwrap(), 200).await;
    assert_eq!(
        (watching["movie"]["id"].as_u64(), watching["progress"].as_f64()),
        (Some(27205), Some(30.0)),
        "{watching}"
    );
    assert_eq!(watching["source"], "jellyfin");

    let emby_url = hook(&http, &server, &ada, "emby", None).await;
    let emby = json!({
        "Title": "ada has finished playing Jaws", "Event": "playback.stop", "User": {"Name": "ada", "Id": "u1"},
        "Item": {"Name": "Jaws", "Type": "Movie", "ProductionYear": 1975, "ProviderIds": {"Tmdb": "578", "Imdb": "tt0073195"}, "RunTimeTicks": 74_400_000_000u64},
        "PlaybackInfo": {"PositionTicks": 74_000_000_000u64, "PlayedToCompletion": true}
    });
    assert_eq!(post(&http, &server, &emby_url, "application/json", emby.to_string().into_bytes()).await.0, 200);

    let generic_url = hook(&http, &server, &ada, "generic", None).await;
    let generic = json!({"event": "scrobble", "movie": {"title": "Alien", "year": 1979}});
    assert_eq!(post(&http, &server, &generic_url, "application/json", generic.to_string().into_bytes()).await.0, 200);
    let earlier = json!({"event": "scrobble", "movie": {"imdb": "tt0078748"}, "watched_at": "2020-05-01T20:00:00Z"});
    let (status, answer) =
        post(&http, &server, &generic_url, "application/json", earlier.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    let h =
        json_of(http.get(server.url("/me/history?movie_id=348")).bearer_auth(&ada).send().await.unwrap(), 200).await;
    let times: Vec<&str> = h["items"].as_array().unwrap().iter().map(|p| p["watched_at"].as_str().unwrap()).collect();
    assert_eq!(times.len(), 2, "a play years ago is not within the window of today's: {h}");
    assert!(times.iter().any(|t| t.starts_with("2020-05-01T20:00:00")), "{times:?}");

    let mut got = plays(&http, &server, &ada).await;
    got.sort();
    assert_eq!(
        got,
        vec![
            (348, "generic".into()),
            (348, "generic".into()),
            (550, "plex".into()),
            (578, "emby".into()),
            (603, "jellyfin".into())
        ],
        "one play per completion, each with its server as source"
    );

    let wrong = plex_url.rsplit_once('/').map(|(p, _)| format!("{p}/{}", "0".repeat(64))).unwrap();
    let (ct, body) = plex("media.scrobble", "movie", 7_600_000);
    let (status, err) = post(&http, &server, &wrong, &ct, body).await;
    assert_eq!((status, err["code"].as_str(), err["message"].as_str()), (404, Some("not_found"), Some("not found")));
    let (status, _) =
        post(&http, &server, &plex_url.replace("/plex/", "/emby/"), "application/json", b"{}".to_vec()).await;
    assert_eq!(status, 404, "a secret works for its own kind only");
    // 20 MB announced and none of it sent: the answer comes from the headers alone.
    let answer = raw_headers_only(&server, &plex_url, 20 << 20).await;
    assert!(answer.starts_with("HTTP/1.1 413") && answer.contains("payload_too_large"), "{answer}");
    let (status, err) = post(&http, &server, &jellyfin_url, "application/json", b"{not json".to_vec()).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("invalid_json")), "{err}");
    assert!(err["request_id"].is_string());

    let listed = json_of(http.get(server.url("/me/webhooks")).bearer_auth(&ada).send().await.unwrap(), 200).await;
    let plex_hook = listed.as_array().unwrap().iter().find(|w| w["kind"] == "plex").unwrap().clone();
    assert_eq!((plex_hook["accepted"].as_u64(), plex_hook["ignored"].as_u64()), (Some(2), Some(2)), "{plex_hook}");
    assert!(!listed.to_string().contains(plex_url.rsplit('/').next().unwrap()), "the secret is never listed again");
    let id = plex_hook["id"].as_str().unwrap();
    let gone = http.delete(server.url(&format!("/me/webhooks/{id}"))).bearer_auth(&ada).send().await.unwrap();
    assert_eq!(gone.status().as_u16(), 204);
    let (ct, body) = plex("media.play", "movie", 0);
    assert_eq!(post(&http, &server, &plex_url, &ct, body).await.0, 404, "a revoked webhook");
    server.stop().await;
}
