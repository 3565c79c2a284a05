//! Response bodies and their conversion from domain types. Request bodies
//! live beside their handlers.

use poem_openapi::{Enum, Object};
use time::OffsetDateTime;
use uuid::Uuid;
use watchme_core::domain::{Favorite, LibraryEntry, MovieDetails, MovieSummary, Role, User, View, WatchStatus};

/// Where a user is with a movie.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum, serde::Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum WatchStatusDto {
    /// On the watchlist.
    WantToWatch,
    /// Started.
    Watching,
    /// Finished.
    Watched,
}

impl From<WatchStatusDto> for WatchStatus {
    fn from(s: WatchStatusDto) -> Self {
        match s {
            WatchStatusDto::WantToWatch => Self::WantToWatch,
            WatchStatusDto::Watching => Self::Watching,
            WatchStatusDto::Watched => Self::Watched,
        }
    }
}

impl From<WatchStatus> for WatchStatusDto {
    fn from(s: WatchStatus) -> Self {
        match s {
            WatchStatus::WantToWatch => Self::WantToWatch,
            WatchStatus::Watching => Self::Watching,
            WatchStatus::Watched => Self::Watched,
        }
    }
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum RoleDto {
    /// Its own library.
    User,
    /// Also the operator endpoints (`/admin/*`).
    Admin,
}

impl From<Role> for RoleDto {
    fn from(r: Role) -> Self {
        match r {
            Role::User => Self::User,
            Role::Admin => Self::Admin,
        }
    }
}

fn date(d: Option<time::Date>) -> Option<String> {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()))
}

/// A movie in a list.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MovieSummaryDto {
    /// TMDb id.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Original title, when different.
    pub original_title: Option<String>,
    /// Synopsis.
    pub overview: String,
    /// First release date, `YYYY-MM-DD`.
    pub release_date: Option<String>,
    /// TMDb genre ids.
    pub genre_ids: Vec<u32>,
    /// Poster image URL.
    pub poster_url: Option<String>,
    /// Backdrop image URL.
    pub backdrop_url: Option<String>,
    /// Average audience score, 0 to 10.
    pub vote_average: f64,
    /// Votes behind the average.
    pub vote_count: u64,
    /// Popularity score.
    pub popularity: f64,
}

impl From<MovieSummary> for MovieSummaryDto {
    fn from(m: MovieSummary) -> Self {
        Self {
            id: m.id.get(),
            title: m.title,
            original_title: m.original_title,
            overview: m.overview,
            release_date: date(m.release_date),
            genre_ids: m.genre_ids,
            poster_url: m.poster_url,
            backdrop_url: m.backdrop_url,
            vote_average: m.vote_average,
            vote_count: m.vote_count,
            popularity: m.popularity,
        }
    }
}

/// A genre.
#[derive(Debug, Clone, Object, serde::Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct GenreDto {
    /// TMDb genre id.
    pub id: u32,
    /// Name.
    pub name: String,
}

/// A cast member.
#[derive(Debug, Clone, Object, serde::Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct CastDto {
    /// Actor.
    pub name: String,
    /// Role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub character: Option<String>,
}

/// Everything about one movie.
#[derive(Debug, Clone, Object, serde::Serialize)]
#[oai(skip_serializing_if_is_none)]
pub struct MovieDetailsDto {
    /// TMDb id.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Original title, when different.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_title: Option<String>,
    /// Original language (ISO 639-1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_language: Option<String>,
    /// Synopsis.
    pub overview: String,
    /// Tagline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tagline: Option<String>,
    /// First release date, `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release_date: Option<String>,
    /// Running time in minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<u32>,
    /// Genres.
    pub genres: Vec<GenreDto>,
    /// Poster image URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poster_url: Option<String>,
    /// Backdrop image URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backdrop_url: Option<String>,
    /// Average audience score, 0 to 10.
    pub vote_average: f64,
    /// Votes behind the average.
    pub vote_count: u64,
    /// Popularity score.
    pub popularity: f64,
    /// IMDb id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imdb_id: Option<String>,
    /// Main cast, top billed first. (Not `cast`: a property of that name
    /// breaks clients that openapi-python-client generates, whose model
    /// code calls `typing.cast`.)
    pub top_cast: Vec<CastDto>,
    /// Directors.
    pub directors: Vec<String>,
}

impl From<MovieDetails> for MovieDetailsDto {
    fn from(m: MovieDetails) -> Self {
        Self {
            id: m.id.get(),
            title: m.title,
            original_title: m.original_title,
            original_language: m.original_language,
            overview: m.overview,
            tagline: m.tagline,
            release_date: date(m.release_date),
            runtime: m.runtime,
            genres: m.genres.into_iter().map(|g| GenreDto { id: g.id, name: g.name }).collect(),
            poster_url: m.poster_url,
            backdrop_url: m.backdrop_url,
            vote_average: m.vote_average,
            vote_count: m.vote_count,
            popularity: m.popularity,
            imdb_id: m.imdb_id,
            top_cast: m.cast.into_iter().map(|c| CastDto { name: c.name, character: c.character }).collect(),
            directors: m.directors,
        }
    }
}

/// An account, as its owner sees it.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UserDto {
    /// User id.
    pub id: Uuid,
    /// Login email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// What the account may do.
    pub role: RoleDto,
    /// When the account was created.
    pub created_at: OffsetDateTime,
    /// Last login.
    pub last_login_at: Option<OffsetDateTime>,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email.to_string(),
            display_name: u.display_name.to_string(),
            role: u.role.into(),
            created_at: u.created_at,
            last_login_at: u.last_login_at,
        }
    }
}

/// One movie page opening.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ViewDto {
    /// Movie id.
    pub movie_id: u64,
    /// Title at the time.
    pub title: String,
    /// When.
    pub viewed_at: OffsetDateTime,
}

impl From<View> for ViewDto {
    fn from(v: View) -> Self {
        Self { movie_id: v.movie.id.get(), title: v.movie.title, viewed_at: v.viewed_at }
    }
}

/// A favorite movie.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct FavoriteDto {
    /// Movie id.
    pub movie_id: u64,
    /// Title when added.
    pub title: String,
    /// When it was added.
    pub added_at: OffsetDateTime,
}

impl From<Favorite> for FavoriteDto {
    fn from(f: Favorite) -> Self {
        Self { movie_id: f.movie.id.get(), title: f.movie.title, added_at: f.added_at }
    }
}

/// A movie in the library.
#[derive(Debug, Clone, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct LibraryEntryDto {
    /// Movie id.
    pub movie_id: u64,
    /// Title when last written.
    pub title: String,
    /// Watch status.
    pub status: Option<WatchStatusDto>,
    /// Rating, 1 to 10.
    pub rating: Option<u8>,
    /// When the entry was created.
    pub added_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
}

impl From<LibraryEntry> for LibraryEntryDto {
    fn from(e: LibraryEntry) -> Self {
        Self {
            movie_id: e.movie.id.get(),
            title: e.movie.title,
            status: e.status.map(Into::into),
            rating: e.rating.map(|r| r.get()),
            added_at: e.added_at,
            updated_at: e.updated_at,
        }
    }
}
