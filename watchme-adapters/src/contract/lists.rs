//! The [`ListRepo`] contract, one scenario per function: lists made with
//! free slugs and a limit, changed and deleted by their owner only, items
//! put, noted, ranked, reordered and removed, each write with its event and
//! the owner's `lists` activity. Each scenario expects a store of its own.

use watchme_core::domain::{
    ActivityKind, ListId, ListItem, ListName, ListPatch, ListPrivacy, MovieCard, MovieId, PageRequest, UserId, UserList,
};
use watchme_core::error::ListRepoError;
use watchme_core::ports::{HistoryRepo, ListRepo, Outbox};

use super::{at, meta};

fn new_list(user: UserId, name: &str, secs: i64) -> UserList {
    let name = ListName::parse(name).expect("name");
    UserList {
        id: ListId::new(),
        user_id: user,
        slug: name.slug(),
        name,
        description: Some("about".into()),
        privacy: ListPrivacy::Private,
        created_at: at(secs),
        updated_at: at(secs),
        item_count: 0,
    }
}

fn card(id: i64) -> MovieCard {
    MovieCard { id: MovieId::new(id).expect("id"), title: format!("Movie {id}"), year: Some(2001), poster_url: None }
}

fn ranked(items: &[ListItem]) -> Vec<(u64, u32)> {
    items.iter().map(|i| (i.movie.id.get(), i.rank)).collect()
}

/// Lists get the first free slug among their owner's, round-trip whole,
/// list newest-updated first, and stop at the limit.
pub async fn lists_are_made_with_free_slugs_up_to_a_limit(repo: &dyn ListRepo) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let first = repo.create_list(&new_list(ada, "Best of 1999!", 10), 3, &meta(Some(ada), 10)).await.expect("create");
    assert_eq!((first.slug.as_str(), first.item_count), ("best-of-1999", 0));
    assert_eq!(repo.find_list(first.id).await.expect("find"), Some(first.clone()), "round-trips whole");
    let second = repo.create_list(&new_list(ada, "best of 1999", 20), 3, &meta(Some(ada), 20)).await.expect("create");
    assert_eq!(second.slug, "best-of-1999-2", "slugs are unique per user");
    let bobs = repo.create_list(&new_list(bob, "Best of 1999", 30), 3, &meta(Some(bob), 30)).await.expect("create");
    assert_eq!(bobs.slug, "best-of-1999", "another user's slugs are apart");
    repo.create_list(&new_list(ada, "third", 40), 3, &meta(Some(ada), 40)).await.expect("third");
    let over = repo.create_list(&new_list(ada, "fourth", 50), 3, &meta(Some(ada), 50)).await;
    assert!(matches!(over, Err(ListRepoError::LimitReached { limit: 3 })), "got {over:?}");
    let mine: Vec<String> = repo.lists_of(ada).await.expect("lists").into_iter().map(|l| l.slug).collect();
    assert_eq!(mine, vec!["third", "best-of-1999-2", "best-of-1999"], "most recently updated first");
    assert!(repo.find_list(ListId::new()).await.expect("find").is_none());
}

/// The owner renames (a new free slug), describes and shares a list, and
/// deletes it with its items; nobody else can.
pub async fn lists_are_changed_by_their_owner_only(repo: &dyn ListRepo) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let list = repo.create_list(&new_list(ada, "Noir", 10), 10, &meta(Some(ada), 10)).await.expect("create");
    repo.create_list(&new_list(ada, "Westerns", 11), 10, &meta(Some(ada), 11)).await.expect("create");
    let patch = ListPatch {
        name: Some(ListName::parse("Westerns").expect("name")),
        description: Some(None),
        privacy: Some(ListPrivacy::Link),
    };
    let bobs = repo.update_list(bob, list.id, &patch, &meta(Some(bob), 20)).await;
    assert!(matches!(bobs, Err(ListRepoError::NotFound)), "not bob's: {bobs:?}");
    let after = repo.update_list(ada, list.id, &patch, &meta(Some(ada), 20)).await.expect("update");
    assert_eq!(
        (after.slug.as_str(), after.description.as_deref(), after.privacy, after.updated_at),
        ("westerns-2", None, ListPrivacy::Link, at(20))
    );
    assert_eq!(repo.find_list(list.id).await.expect("find"), Some(after), "stored as answered");
    repo.put_item(ada, list.id, &card(1), None, 10, &meta(Some(ada), 30)).await.expect("item");
    assert!(!repo.delete_list(bob, list.id, &meta(Some(bob), 40)).await.expect("delete"), "not bob's");
    assert!(repo.delete_list(ada, list.id, &meta(Some(ada), 40)).await.expect("delete"));
    assert!(!repo.delete_list(ada, list.id, &meta(Some(ada), 41)).await.expect("again"), "gone");
    assert!(repo.find_list(list.id).await.expect("find").is_none());
    assert_eq!(repo.items(list.id, PageRequest::first()).await.expect("items").total_items, 0, "items go with it");
}

/// Items go last, keep their rank when their note changes, close the gap
/// when removed, and stop at the limit; a reorder ranks the named movies
/// first and refuses movies not on the list.
pub async fn list_items_are_ranked_and_reordered(repo: &dyn ListRepo) {
    let (ada, bob) = (UserId::new(), UserId::new());
    let list = repo.create_list(&new_list(ada, "Picks", 10), 10, &meta(Some(ada), 10)).await.expect("create");
    for (n, id) in [1, 2, 3, 4].into_iter().enumerate() {
        let (item, added) =
            repo.put_item(ada, list.id, &card(id), None, 4, &meta(Some(ada), 20 + n as i64)).await.expect("put");
        assert_eq!((item.rank, added), (n as u32 + 1, true), "new items go last");
    }
    let (noted, added) =
        repo.put_item(ada, list.id, &card(2), Some("rewatch".into()), 4, &meta(Some(ada), 30)).await.expect("note");
    assert_eq!((noted.rank, noted.notes.as_deref(), added), (2, Some("rewatch"), false), "a note keeps the rank");
    let full = repo.put_item(ada, list.id, &card(5), None, 4, &meta(Some(ada), 31)).await;
    assert!(matches!(full, Err(ListRepoError::LimitReached { limit: 4 })), "got {full:?}");
    let bobs = repo.put_item(bob, list.id, &card(5), None, 10, &meta(Some(bob), 31)).await;
    assert!(matches!(bobs, Err(ListRepoError::NotFound)), "not bob's list");
    assert!(repo.remove_item(ada, list.id, MovieId::new(1).expect("id"), &meta(Some(ada), 40)).await.expect("rm"));
    assert!(!repo.remove_item(ada, list.id, MovieId::new(1).expect("id"), &meta(Some(ada), 41)).await.expect("rm"));
    let items = repo.items(list.id, PageRequest::first()).await.expect("items");
    assert_eq!(ranked(&items.items), vec![(2, 1), (3, 2), (4, 3)], "the gap closes");
    assert_eq!(items.items[0].notes.as_deref(), Some("rewatch"));
    let m = |id| MovieId::new(id).expect("id");
    let wrong = repo.reorder(ada, list.id, &[m(4), m(99)], &meta(Some(ada), 50)).await;
    assert!(matches!(&wrong, Err(ListRepoError::NotOnList(ms)) if ms == &vec![m(99)]), "got {wrong:?}");
    repo.reorder(ada, list.id, &[m(4), m(2)], &meta(Some(ada), 51)).await.expect("reorder");
    let items = repo.items(list.id, PageRequest::first()).await.expect("items");
    assert_eq!(ranked(&items.items), vec![(4, 1), (2, 2), (3, 3)], "named first, the rest after");
    let page = repo.items(list.id, PageRequest::new(Some(2), Some(2)).expect("page")).await.expect("items");
    assert_eq!((ranked(&page.items), page.total_items), (vec![(3, 3)], 3), "paged by rank");
    assert_eq!(repo.find_list(list.id).await.expect("find").map(|l| (l.item_count, l.updated_at)), Some((3, at(51))));
}

/// Every list write has its `list_changed` event and moves the owner's
/// `lists` activity; refused writes do neither.
pub async fn list_writes_have_events_and_activity(repo: &dyn ListRepo, history: &dyn HistoryRepo, outbox: &dyn Outbox) {
    let ada = UserId::new();
    let events = || async { outbox.stats().await.expect("stats").unpublished };
    let lists_at = || async { history.activity(ada).await.expect("activity").get(ActivityKind::Lists) };
    let list = repo.create_list(&new_list(ada, "L", 10), 10, &meta(Some(ada), 10)).await.expect("create");
    assert_eq!((events().await, lists_at().await), (1, Some(at(10))));
    repo.put_item(ada, list.id, &card(1), None, 10, &meta(Some(ada), 20)).await.expect("put");
    assert_eq!((events().await, lists_at().await), (2, Some(at(20))));
    let _ = repo.reorder(ada, list.id, &[MovieId::new(7).expect("id")], &meta(Some(ada), 30)).await;
    let _ = repo.create_list(&new_list(ada, "over", 40), 1, &meta(Some(ada), 40)).await;
    assert_eq!((events().await, lists_at().await), (2, Some(at(20))), "refused writes change nothing");
    repo.delete_list(ada, list.id, &meta(Some(ada), 50)).await.expect("delete");
    assert_eq!((events().await, lists_at().await), (3, Some(at(50))));
    let a = history.activity(ada).await.expect("activity");
    assert_eq!(a.get(ActivityKind::History), None, "only lists moved");
}
