//! ImportService with the real file reader over memory adapters and the
//! bundled catalog: a Letterboxd export imports exactly (rewatches, half
//! stars, statuses, favorites, ranked lists, the unmatched row with its
//! line) and adds nothing the second time; IMDb and Trakt files likewise;
//! export, then import into a fresh account, gives the same data.

mod common;

use std::io::Write;

use watchme_core::domain::{
    HistoryFilter, ImportCounts, ImportSource, ImportStatus, PageRequest, ProblemKind, RequestContext, UserId,
    WatchStatus,
};
use watchme_core::ports::ImportFileError;

fn zip(files: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, text) in files {
        w.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(text.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const DIARY: &str = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date
2020-01-02,Fight Club,1999,https://boxd.it/1,4.5,,,2020-01-01
2021-03-04,Fight Club,1999,https://boxd.it/2,4.5,Yes,,2021-03-03
2021-03-05,Fight Club,1999,https://boxd.it/3,5,Yes,,2021-03-03
2022-05-06,The Matrix,1999,https://boxd.it/4,3.5,,,2022-05-06
2022-06-01,A Film Nobody Made,2001,https://boxd.it/5,,,,2022-06-01
";
const RATINGS: &str = "Date,Name,Year,Letterboxd URI,Rating
2021-03-05,Fight Club,1999,https://boxd.it/a,4.5
2022-05-06,The Matrix,1999,https://boxd.it/b,3.5
2022-07-01,Goodfellas,1990,https://boxd.it/c,0.5
";
const WATCHED: &str = "Date,Name,Year,Letterboxd URI
2020-01-02,Fight Club,1999,https://boxd.it/a
2023-01-01,Inception,2010,https://boxd.it/d
";
const WATCHLIST: &str = "Date,Name,Year,Letterboxd URI\n2023-02-02,The Dark Knight,2008,https://boxd.it/e\n";
const LIKES: &str = "Date,Name,Year,Letterboxd URI\n2023-02-03,The Matrix,1999,https://boxd.it/b\n";
const LIST_90S: &str = "Letterboxd list export v7
Date,Name,Tags,URL,Description
2023-03-01,Best of the 90s,,https://letterboxd.com/u/list/best-of-the-90s/,Ten years of good films

Position,Name,Year,URL,Description
1,Se7en,1995,https://boxd.it/f,
2,Fight Club,1999,https://boxd.it/a,the one with the soap
";
const LIST_SCARY: &str = "Letterboxd list export v7
Date,Name,Tags,URL,Description
2023-03-02,Scary,,https://letterboxd.com/u/list/scary/,

Position,Name,Year,URL,Description
1,Alien,1979,https://boxd.it/g,
";

fn letterboxd() -> Vec<u8> {
    zip(&[
        ("diary.csv", DIARY),
        ("ratings.csv", RATINGS),
        ("watched.csv", WATCHED),
        ("watchlist.csv", WATCHLIST),
        ("likes/films.csv", LIKES),
        ("lists/best-of-the-90s.csv", LIST_90S),
        ("lists/scary.csv", LIST_SCARY),
        ("reviews.csv", "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Review,Tags,Watched Date\n"),
    ])
}

async fn import(
    k: &common::Kit,
    ctx: &RequestContext,
    source: ImportSource,
    bytes: &[u8],
) -> watchme_core::domain::ImportJob {
    let job = k.imports.start(ctx, source, false).await.unwrap();
    let file = k.imports.read(source, bytes);
    k.imports.run(ctx, job, file).await
}

#[tokio::test]
async fn a_letterboxd_export_imports_exactly_and_once() {
    let k = common::kit();
    let ctx = RequestContext::user(UserId::new());
    let job = import(&k, &ctx, ImportSource::Letterboxd, &letterboxd()).await;
    assert_eq!(job.status, ImportStatus::Done, "{:?}", job.error);
    let want = ImportCounts {
        rows_read: 15,
        plays_added: 4,
        ratings_added: 3,
        statuses_added: 2,
        favorites_added: 1,
        list_items_added: 3,
        already_present: 1,
        skipped: 0,
        unmatched: 1,
    };
    assert_eq!(job.counts, want, "{:#?}", job.problems);
    let unmatched: Vec<_> = job.problems.iter().filter(|p| p.kind == ProblemKind::Unmatched).collect();
    assert_eq!((unmatched.len(), unmatched[0].origin.file.as_str(), unmatched[0].origin.line), (1, "diary.csv", 6));
    assert!(job.problems.iter().any(|p| p.kind == ProblemKind::Ignored && p.origin.file == "reviews.csv"));

    let plays = k.history.plays(&ctx, HistoryFilter::default(), PageRequest::first()).await.unwrap();
    let mut got: Vec<(u64, String)> =
        plays.items.iter().map(|p| (p.movie.id.get(), p.watched_at.to_string())).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (550, "2020-01-01 0:00:00.0 +00:00:00".to_owned()),
            (550, "2021-03-03 0:00:00.0 +00:00:00".to_owned()),
            (550, "2021-03-03 0:00:01.0 +00:00:00".to_owned()),
            (603, "2022-05-06 0:00:00.0 +00:00:00".to_owned()),
        ],
        "every diary row a play, two rewatches on one day a second apart"
    );
    let entry = |id: i64| {
        let (k, ctx) = (&k, &ctx);
        async move { k.library.entry(ctx, watchme_core::domain::MovieId::new(id).unwrap()).await.unwrap().unwrap() }
    };
    assert_eq!(entry(550).await.rating.map(|r| r.get()), Some(9), "4.5 stars");
    assert_eq!(entry(603).await.rating.map(|r| r.get()), Some(7));
    assert_eq!(
        entry(769).await.rating.map(|r| r.get()),
        Some(1),
        "half a star, Goodfellas as the catalog spells GoodFellas"
    );
    assert_eq!(entry(27205).await.status, Some(WatchStatus::Watched), "watched without a play");
    assert_eq!(entry(155).await.status, Some(WatchStatus::WantToWatch));
    let inception = k
        .history
        .plays(
            &ctx,
            HistoryFilter { movie: Some(watchme_core::domain::MovieId::new(27205).unwrap()), ..Default::default() },
            PageRequest::first(),
        )
        .await
        .unwrap();
    assert_eq!(inception.total_items, 0, "no play invented");
    let favs = k.library.favorites(&ctx, PageRequest::first()).await.unwrap();
    assert_eq!(favs.items.iter().map(|f| f.movie.id.get()).collect::<Vec<_>>(), vec![603]);
    let mut lists = k.lists.mine(&ctx).await.unwrap();
    lists.sort_by(|a, b| a.name.as_str().cmp(b.name.as_str()));
    assert_eq!(lists.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(), vec!["Best of the 90s", "Scary"]);
    assert_eq!(lists[0].description.as_deref(), Some("Ten years of good films"));
    let items = k.lists.items(&ctx, lists[0].id, PageRequest::first()).await.unwrap();
    let got: Vec<(u32, u64, Option<String>)> =
        items.items.iter().map(|i| (i.rank, i.movie.id.get(), i.notes.clone())).collect();
    assert_eq!(got, vec![(1, 807, None), (2, 550, Some("the one with the soap".into()))]);

    let again = import(&k, &ctx, ImportSource::Letterboxd, &letterboxd()).await;
    let c = again.counts;
    assert_eq!(
        (c.plays_added, c.ratings_added, c.statuses_added, c.favorites_added, c.list_items_added, c.unmatched),
        (0, 0, 0, 0, 0, 1),
        "the same file again adds nothing"
    );
    assert_eq!(c.already_present, 14);
}

#[tokio::test]
async fn imdb_ratings_and_trakt_json_import_with_skips_and_once() {
    let k = common::kit();
    let ctx = RequestContext::user(UserId::new());
    let imdb = "Const,Your Rating,Date Rated,Title,Original Title,URL,Title Type,IMDb Rating,Runtime (mins),Year,Genres,Num Votes,Release Date,Directors
tt0133093,9,2023-01-01,The Matrix,The Matrix,https://www.imdb.com/title/tt0133093/,Movie,8.7,136,1999,Action,1,1999-03-31,Wachowski
tt0903747,10,2023-01-02,Breaking Bad,Breaking Bad,https://www.imdb.com/title/tt0903747/,TV Series,9.5,49,2008,Drama,1,2008-01-20,
tt0000000,5,2023-01-03,Nothing,Nothing,https://www.imdb.com/title/tt0000000/,Movie,1,1,1900,Drama,1,,
tt0054215,8,2023-01-04,Psycho,Psycho,https://www.imdb.com/title/tt0054215/,movie,8.5,109,1960,Horror,1,,
";
    let job = import(&k, &ctx, ImportSource::Imdb, imdb.as_bytes()).await;
    let c = job.counts;
    assert_eq!((c.rows_read, c.ratings_added, c.skipped, c.unmatched), (4, 2, 1, 1), "{:#?}", job.problems);
    assert_eq!(import(&k, &ctx, ImportSource::Imdb, imdb.as_bytes()).await.counts.ratings_added, 0);

    let history = r#"[
      {"id": 1, "watched_at": "2019-05-01T20:00:00.000Z", "action": "scrobble", "type": "movie",
       "movie": {"title": "Jaws", "year": 1975, "ids": {"trakt": 1, "slug": "jaws-1975", "imdb": "tt0073195", "tmdb": 578}}},
      {"id": 2, "watched_at": "2019-05-02T20:00:00.000Z", "action": "watch", "type": "episode", "episode": {"title": "Pilot"}}
    ]"#;
    let ratings = r#"[{"rated_at": "2019-05-03T00:00:00.000Z", "rating": 8, "type": "movie",
       "movie": {"title": "Jaws", "year": 1975, "ids": {"imdb": "tt0073195"}}}]"#;
    let watchlist = r#"[{"rank": 1, "listed_at": "2019-05-04T00:00:00.000Z", "type": "movie",
       "movie": {"title": "Alien", "year": 1979, "ids": {"tmdb": 348}}}]"#;
    let bundle = zip(&[("history.json", history), ("ratings.json", ratings), ("watchlist.json", watchlist)]);
    let job = import(&k, &ctx, ImportSource::Trakt, &bundle).await;
    let c = job.counts;
    assert_eq!((c.plays_added, c.ratings_added, c.statuses_added, c.skipped), (1, 1, 1, 1), "{:#?}", job.problems);
    let plays = k.history.plays(&ctx, HistoryFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(plays.items[0].action.as_str(), "scrobble", "the action is kept");
    assert_eq!(import(&k, &ctx, ImportSource::Trakt, &bundle).await.counts.plays_added, 0);
}

#[tokio::test]
async fn an_export_imported_into_a_fresh_account_gives_the_same_data() {
    let k = common::kit();
    let (ada, bob) = (RequestContext::user(UserId::new()), RequestContext::user(UserId::new()));
    import(&k, &ada, ImportSource::Letterboxd, &letterboxd()).await;
    let update = watchme_core::domain::LibraryUpdate::new(Some(WatchStatus::Watching), None).unwrap();
    k.library.update_entry(&ada, watchme_core::domain::MovieId::new(550).unwrap(), update).await.unwrap();
    let zipped = k.imports.export_zip(&ada).await.unwrap();
    let job = import(&k, &bob, ImportSource::Watchme, &zipped).await;
    assert_eq!((job.status, job.counts.unmatched), (ImportStatus::Done, 0), "{:#?}", job.problems);
    let (a, b) = (k.imports.export(&ada).await.unwrap(), k.imports.export(&bob).await.unwrap());
    let plays = |e: &watchme_core::domain::WatchmeExport| {
        let mut v: Vec<_> =
            e.plays.iter().map(|p| (p.movie.tmdb_id, p.watched_at, p.action.as_str(), p.source.as_str())).collect();
        v.sort();
        v
    };
    assert_eq!(plays(&a), plays(&b));
    let library = |e: &watchme_core::domain::WatchmeExport| {
        let mut v: Vec<_> = e.library.iter().map(|l| (l.movie.tmdb_id, l.status, l.rating)).collect();
        v.sort_by_key(|x| x.0);
        v
    };
    assert_eq!(library(&a), library(&b));
    let favorites =
        |e: &watchme_core::domain::WatchmeExport| e.favorites.iter().map(|f| f.movie.tmdb_id).collect::<Vec<_>>();
    assert_eq!(favorites(&a), favorites(&b));
    let lists = |e: &watchme_core::domain::WatchmeExport| {
        let mut v: Vec<_> = e
            .lists
            .iter()
            .map(|l| {
                let items: Vec<_> = l.items.iter().map(|i| (i.movie.tmdb_id, i.rank, i.notes.clone())).collect();
                (l.name.clone(), l.description.clone(), l.privacy, items)
            })
            .collect();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v
    };
    assert_eq!(lists(&a), lists(&b));
    assert!(!a.plays.is_empty() && !a.lists.is_empty());
}

#[tokio::test]
async fn hostile_and_wrong_files_are_refused_and_one_import_runs_at_a_time() {
    let k = common::kit();
    let ctx = RequestContext::user(UserId::new());
    let garbage = vec![0x89u8; 1 << 20];
    assert!(matches!(k.imports.read(ImportSource::Letterboxd, &garbage), Err(ImportFileError::WrongKind { .. })));
    assert!(matches!(k.imports.read(ImportSource::Trakt, b"not json"), Err(ImportFileError::WrongKind { .. })));
    assert!(matches!(k.imports.read(ImportSource::Watchme, b"{}"), Err(ImportFileError::Unreadable(_))));
    let bomb = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        w.start_file("diary.csv", opts).unwrap();
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..300 {
            w.write_all(&zeros).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    assert!(bomb.len() < 2 << 20, "small packed: {}", bomb.len());
    assert!(matches!(k.imports.read(ImportSource::Letterboxd, &bomb), Err(ImportFileError::TooLarge(_))));
    let broken = "Date,Name,Year,Letterboxd URI,Rating,Rewatch,Tags,Watched Date\n2020-01-02,\"Fight Club,1999\n";
    let file = k.imports.read(ImportSource::Letterboxd, broken.as_bytes()).unwrap();
    assert!(file.problems.iter().all(|p| p.origin.line >= 2), "{:?}", file.problems);
    let first = k.imports.start(&ctx, ImportSource::Letterboxd, true).await.unwrap();
    assert!(matches!(
        k.imports.start(&ctx, ImportSource::Imdb, false).await,
        Err(watchme_core::services::ImportError::Busy)
    ));
    let done = k.imports.run(&ctx, first, k.imports.read(ImportSource::Letterboxd, &letterboxd())).await;
    assert_eq!((done.dry_run, done.counts.plays_added), (true, 4), "a dry run counts");
    let plays = k.history.plays(&ctx, HistoryFilter::default(), PageRequest::first()).await.unwrap();
    assert_eq!(plays.total_items, 0, "and writes nothing");
    let interrupted = k.imports.start(&ctx, ImportSource::Letterboxd, false).await.unwrap();
    assert_eq!(k.imports.fail_interrupted(std::time::Duration::from_secs(60)).await.unwrap(), 0, "just saved");
    assert_eq!(k.imports.fail_interrupted(std::time::Duration::ZERO).await.unwrap(), 1);
    let failed = k.imports.job(&ctx, interrupted.id).await.unwrap();
    assert_eq!(failed.status, ImportStatus::Failed);
    assert!(failed.error.unwrap().contains("restart"));
}
