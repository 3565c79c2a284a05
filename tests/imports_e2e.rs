//! Imports and the export over HTTP and the command line, against the real
//! binary on the embedded default (SQLite): a Letterboxd ZIP imports in the
//! background and once, a multipart IMDb upload too, hostile uploads are
//! refused at once with the error shape, an export imported into a fresh
//! account gives the same data, and `watchme import` / `watchme export`
//! do the same from a shell.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{command, json_of, register, start, Server, TempDir};

const PASSWORD: &str = "correct horse battery";

async fn login(http: &reqwest::Client, server: &Server, email: &str) -> String {
    register(http, &server.base, email, PASSWORD).await;
    let body = json!({"email": email, "password": PASSWORD});
    let login = json_of(http.post(server.url("/auth/login")).json(&body).send().await.unwrap(), 200).await;
    login["access_token"].as_str().unwrap().to_owned()
}

fn zip(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn letterboxd() -> Vec<u8> {
    let diary = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date
2020-01-02,Fight Club,1999,https://boxd.it/1,4.5,,,2020-01-01
2021-03-04,Fight Club,1999,https://boxd.it/2,4.5,Yes,,2021-03-03
2022-05-06,The Matrix,1999,https://boxd.it/4,3.5,,,2022-05-06
2022-06-01,A Film Nobody Made,2001,https://boxd.it/5,,,,2022-06-01
";
    let ratings = "Date,Name,Year,Letterboxd URI,Rating\n2021-03-05,Fight Club,1999,https://boxd.it/a,4.5\n";
    let list = "Letterboxd list export v7\nDate,Name,Tags,URL,Description\n2023-03-01,Nineties,,https://boxd.it/l,\n\nPosition,Name,Year,URL,Description\n1,Se7en,1995,https://boxd.it/f,\n2,Fight Club,1999,https://boxd.it/a,soap\n";
    zip(&[
        ("diary.csv", diary.as_bytes()),
        ("ratings.csv", ratings.as_bytes()),
        ("lists/nineties.csv", list.as_bytes()),
    ])
}

/// Posts an upload; returns the status and body.
async fn upload(
    http: &reqwest::Client,
    server: &Server,
    token: &str,
    query: &str,
    ct: &str,
    bytes: Vec<u8>,
) -> (u16, Value) {
    let resp = http
        .post(server.url(&format!("/me/imports?{query}")))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Polls a job until it finished.
async fn finished(http: &reqwest::Client, server: &Server, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job =
            json_of(http.get(server.url(&format!("/me/imports/{id}"))).bearer_auth(token).send().await.unwrap(), 200)
                .await;
        if job["status"] == "done" || job["status"] == "failed" {
            return job;
        }
        assert!(Instant::now() < deadline, "the import did not finish: {job}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn import(http: &reqwest::Client, server: &Server, token: &str, query: &str, ct: &str, bytes: Vec<u8>) -> Value {
    let (status, job) = upload(http, server, token, query, ct, bytes).await;
    assert_eq!(status, 202, "{job}");
    finished(http, server, token, job["id"].as_str().unwrap()).await
}

/// The sections of `watchme.json` that must survive a round trip, sorted.
fn comparable(export_zip: &[u8]) -> Value {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(export_zip)).unwrap();
    let mut text = String::new();
    archive.by_name("watchme.json").unwrap().read_to_string(&mut text).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let mut plays: Vec<String> = v["plays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| format!("{}|{}|{}", p["movie"]["tmdb_id"], p["watched_at"], p["action"]))
        .collect();
    plays.sort();
    let mut library: Vec<String> = v["library"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}|{}|{}", e["movie"]["tmdb_id"], e["status"], e["rating"]))
        .collect();
    library.sort();
    let lists: Vec<Value> = v["lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            json!([
                l["name"],
                l["privacy"],
                l["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| json!([i["movie"]["tmdb_id"], i["rank"], i["notes"]]))
                    .collect::<Vec<_>>()
            ])
        })
        .collect();
    json!({ "plays": plays, "library": library, "favorites": v["favorites"].as_array().unwrap().len(), "lists": lists })
}

#[tokio::test(flavor = "multi_thread")]
async fn imports_run_in_the_background_once_and_the_export_round_trips() {
    let dir = TempDir::new("imports");
    let server = start(&dir.0, &[("WATCHME_IMPORT_MAX_MB", "12".into())]).await;
    let http = reqwest::Client::new();
    let ada = login(&http, &server, "ada@example.com").await;

    let job = import(&http, &server, &ada, "source=letterboxd", "application/zip", letterboxd()).await;
    assert_eq!(job["status"], "done", "{job}");
    let c = &job["counts"];
    assert_eq!(
        (
            c["plays_added"].as_u64(),
            c["ratings_added"].as_u64(),
            c["list_items_added"].as_u64(),
            c["unmatched"].as_u64()
        ),
        (Some(3), Some(1), Some(2), Some(1)),
        "{job}"
    );
    let id = job["id"].as_str().unwrap();
    let report = http.get(server.url(&format!("/me/imports/{id}/report"))).bearer_auth(&ada).send().await.unwrap();
    assert!(report.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let report = report.text().await.unwrap();
    assert!(report.starts_with("file,line,kind,reason\n") && report.contains("diary.csv,5,unmatched,"), "{report}");
    let again = import(&http, &server, &ada, "source=letterboxd", "application/zip", letterboxd()).await;
    assert_eq!(
        (again["counts"]["plays_added"].as_u64(), again["counts"]["already_present"].as_u64()),
        (Some(0), Some(6)),
        "{again}"
    );
    let history = json_of(http.get(server.url("/me/history")).bearer_auth(&ada).send().await.unwrap(), 200).await;
    assert_eq!(history["total_items"], 3);

    let imdb = "Const,Your Rating,Date Rated,Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,Genres,Num Votes,Release Date,Directors\ntt0073195,8,2023-01-01,Jaws,https://www.imdb.com/title/tt0073195/,movie,8.1,124,1975,Thriller,1,,\n";
    // A browser's form upload, written by hand (no multipart feature in the test's client).
    let boundary = "----watchme-test-boundary";
    let form = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ratings.csv\"\r\nContent-Type: text/csv\r\n\r\n{imdb}\r\n--{boundary}--\r\n"
    );
    let resp = http
        .post(server.url("/me/imports?source=imdb"))
        .bearer_auth(&ada)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(form)
        .send()
        .await
        .unwrap();
    let job = json_of(resp, 202).await;
    let job = finished(&http, &server, &ada, job["id"].as_str().unwrap()).await;
    assert_eq!(job["counts"]["ratings_added"], 1, "{job}");

    let bomb = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        w.start_file("diary.csv", opts).unwrap();
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..600 {
            w.write_all(&zeros).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    let (status, err) = upload(&http, &server, &ada, "source=letterboxd", "application/zip", bomb).await;
    assert_eq!((status, err["code"].as_str()), (413, Some("import_too_large")), "{err}");
    let noise: Vec<u8> = (0..10_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    let (status, err) = upload(&http, &server, &ada, "source=letterboxd", "text/csv", noise).await;
    assert_eq!((status, err["code"].as_str()), (422, Some("wrong_file_type")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("diary.csv"), "says what was expected: {err}");
    let (status, err) = upload(&http, &server, &ada, "source=letterboxd", "text/csv", vec![b'a'; 13 << 20]).await;
    assert_eq!((status, err["code"].as_str()), (413, Some("payload_too_large")), "{err}");
    let (status, _) = upload(&http, &server, &ada, "source=spotify", "text/csv", b"x".to_vec()).await;
    assert_eq!(status, 400);

    let export = http.get(server.url("/me/export")).bearer_auth(&ada).send().await.unwrap();
    assert_eq!(export.status().as_u16(), 200);
    assert!(export.headers()["content-disposition"].to_str().unwrap().contains("watchme-export-"));
    let export = export.bytes().await.unwrap().to_vec();
    let bob = login(&http, &server, "bob@example.com").await;
    let job = import(&http, &server, &bob, "source=watchme", "application/zip", export.clone()).await;
    assert_eq!((job["status"].as_str(), job["counts"]["unmatched"].as_u64()), (Some("done"), Some(0)), "{job}");
    let bobs =
        http.get(server.url("/me/export")).bearer_auth(&bob).send().await.unwrap().bytes().await.unwrap().to_vec();
    assert_eq!(comparable(&export), comparable(&bobs), "the export, imported, gives the same data");
    server.stop().await;

    // The command line, on the same database.
    let env = [("WATCHME_DATA_DIR", dir.0.display().to_string())];
    let file = dir.0.join("ratings.csv");
    std::fs::write(&file, imdb.replace("tt0073195,8", "tt0073195,9")).unwrap();
    let out = command(&env, &["import", "--user", "bob@example.com", "--source", "imdb", &file.display().to_string()])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("done: 1/1 rows") && stderr.contains("1 ratings"),
        "plain progress lines off a terminal: {stderr}"
    );
    let zip_path = dir.0.join("bob.zip");
    let out = command(&env, &["export", "--user", "bob@example.com", "--output", &zip_path.display().to_string()])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = comparable(&std::fs::read(&zip_path).unwrap()).to_string();
    assert!(text.contains("\"578|null|9\""), "the CLI import is in the CLI export: {text}");
    let out =
        command(&env, &["import", "--user", "nobody@example.com", "--source", "imdb", &file.display().to_string()])
            .output()
            .await
            .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no account"));
}
