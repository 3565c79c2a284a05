//! Users' own lists of movies: named, ordered by rank, with notes per item,
//! private or shared by link or in public.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{MovieCard, UserId};

/// Longest list name.
pub const MAX_LIST_NAME: usize = 100;
/// Longest list description or item note.
pub const MAX_LIST_TEXT: usize = 2000;

super::uuid_id!(
    /// A list's id: random, so unguessable (a `link` list is shared by it).
    ListId
);

/// Who may read a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListPrivacy {
    /// Its owner only.
    Private,
    /// Anyone with its id (a link).
    Link,
    /// Anyone.
    Public,
}

impl ListPrivacy {
    /// The wire name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Private => "private",
            Self::Link => "link",
            Self::Public => "public",
        }
    }
}

/// Why a string is not a [`ListPrivacy`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("privacy must be `private`, `link` or `public`")]
pub struct ListPrivacyError;

impl FromStr for ListPrivacy {
    type Err = ListPrivacyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "private" => Ok(Self::Private),
            "link" => Ok(Self::Link),
            "public" => Ok(Self::Public),
            _ => Err(ListPrivacyError),
        }
    }
}

/// Why a list's text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListTextError {
    /// The name is blank or too long.
    #[error("a list name is 1 to {MAX_LIST_NAME} characters, not blank")]
    Name,
    /// A description or note is too long.
    #[error("at most {MAX_LIST_TEXT} characters")]
    TooLong,
}

/// A list's name (trimmed, not blank).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ListName(String);

impl ListName {
    /// Validates a name.
    pub fn parse(raw: &str) -> Result<Self, ListTextError> {
        let name = raw.trim();
        if name.is_empty() || name.chars().count() > MAX_LIST_NAME {
            return Err(ListTextError::Name);
        }
        Ok(Self(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The slug the name gives: lower-case letters and digits, runs of
    /// anything else one `-` (`"Best of 1999!"` → `best-of-1999`); `list`
    /// when nothing is left.
    pub fn slug(&self) -> String {
        let mut slug = String::new();
        for c in self.0.chars().flat_map(char::to_lowercase) {
            if c.is_alphanumeric() {
                slug.push(c);
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_end_matches('-');
        if slug.is_empty() {
            "list".to_owned()
        } else {
            slug.to_owned()
        }
    }
}

/// A description or note: at most [`MAX_LIST_TEXT`] characters.
pub fn list_text(raw: &str) -> Result<String, ListTextError> {
    if raw.chars().count() > MAX_LIST_TEXT {
        return Err(ListTextError::TooLong);
    }
    Ok(raw.to_owned())
}

/// The first of `base`, `base-2`, `base-3` ... that `taken` does not hold.
pub fn free_slug(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_owned();
    }
    (2..).map(|n| format!("{base}-{n}")).find(|s| !taken.contains(s)).unwrap_or_default()
}

/// A user's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserList {
    /// Its id.
    pub id: ListId,
    /// Whose.
    pub user_id: UserId,
    /// Its name.
    pub name: ListName,
    /// Unique among its owner's lists, from the name.
    pub slug: String,
    /// What it is about.
    pub description: Option<String>,
    /// Who may read it.
    pub privacy: ListPrivacy,
    /// When it was made.
    pub created_at: OffsetDateTime,
    /// When it or its items last changed.
    pub updated_at: OffsetDateTime,
    /// How many movies it holds.
    pub item_count: u64,
}

impl UserList {
    /// Whether `reader` (anonymous when `None`) may read it.
    pub fn readable_by(&self, reader: Option<UserId>) -> bool {
        self.privacy != ListPrivacy::Private || reader == Some(self.user_id)
    }
}

/// What a `PATCH` of a list changes; `None` keeps a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListPatch {
    /// New name (and so a new slug).
    pub name: Option<ListName>,
    /// New description; `Some(None)` clears it.
    pub description: Option<Option<String>>,
    /// New privacy.
    pub privacy: Option<ListPrivacy>,
}

/// A movie on a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// The movie.
    pub movie: MovieCard,
    /// Its place, from 1.
    pub rank: u32,
    /// The owner's note.
    pub notes: Option<String>,
    /// When it was put on the list.
    pub added_at: OffsetDateTime,
}

/// What happened to a list, for its `list_changed` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListChange {
    /// Made.
    Created,
    /// Renamed, described or shared differently.
    Updated,
    /// Deleted with its items.
    Deleted,
    /// A movie was put on it.
    ItemAdded,
    /// A movie's note changed.
    ItemUpdated,
    /// A movie was taken off it.
    ItemRemoved,
    /// Its order changed.
    Reordered,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_lower_kebab_and_made_free() {
        let slug = |n: &str| ListName::parse(n).unwrap().slug();
        assert_eq!(slug("Best of 1999!"), "best-of-1999");
        assert_eq!(slug("  Amélie & Co  "), "amélie-co");
        assert_eq!(slug("!!!"), "list");
        assert_eq!(free_slug("a", &[]), "a");
        assert_eq!(free_slug("a", &["a".into(), "a-2".into()]), "a-3");
    }

    #[test]
    fn names_and_texts_are_bounded() {
        assert_eq!(ListName::parse("  "), Err(ListTextError::Name));
        assert_eq!(ListName::parse(&"x".repeat(MAX_LIST_NAME + 1)), Err(ListTextError::Name));
        assert_eq!(list_text(&"x".repeat(MAX_LIST_TEXT + 1)), Err(ListTextError::TooLong));
        assert!(list_text("fine").is_ok());
    }

    #[test]
    fn private_lists_are_their_owners_only() {
        let owner = UserId::new();
        let t = OffsetDateTime::UNIX_EPOCH;
        let list = UserList {
            id: ListId::new(),
            user_id: owner,
            name: ListName::parse("x").unwrap(),
            slug: "x".into(),
            description: None,
            privacy: ListPrivacy::Private,
            created_at: t,
            updated_at: t,
            item_count: 0,
        };
        assert!(list.readable_by(Some(owner)));
        assert!(!list.readable_by(Some(UserId::new())) && !list.readable_by(None));
        let shared = UserList { privacy: ListPrivacy::Link, ..list };
        assert!(shared.readable_by(None));
    }
}
