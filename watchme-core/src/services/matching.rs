//! Matching an import row's movie to a movie of the movie source: by TMDb
//! id, by IMDb id (the source's find-by-external-id), else by title and year
//! through search (normalised titles, the exact year first, then a year
//! either side, then the original title). Nothing is guessed: several equal
//! candidates are ambiguous. Each key is looked up once per import.

use std::collections::HashMap;

use crate::domain::{MovieCard, MovieKey, MovieSummary, PageRequest, SearchQuery};
use crate::error::Cause;

use super::{MovieError, MovieService};

/// What a key matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// One movie.
    Found(MovieCard),
    /// No movie; why.
    Unmatched(String),
    /// Several movies, equally good; which.
    Ambiguous(String),
}

/// Matches keys, remembering each answer for the rest of the import.
pub struct Matcher<'a> {
    movies: &'a MovieService,
    memo: HashMap<MovieKey, Match>,
}

/// A title as compared: lower case, letters and digits, `&` as `and`,
/// single spaces.
pub fn normalise(title: &str) -> String {
    let mut out = String::with_capacity(title.len());
    for c in title.replace('&', " and ").chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    out.trim_end().to_owned()
}

fn year_of(s: &MovieSummary) -> Option<i32> {
    s.release_date.map(|d| d.year())
}

impl<'a> Matcher<'a> {
    /// A matcher over `movies` (lookups go through its cache).
    pub fn new(movies: &'a MovieService) -> Self {
        Self { movies, memo: HashMap::new() }
    }

    /// The movie `key` names.
    ///
    /// # Errors
    /// The movie source's cause when it cannot answer (the import stops:
    /// guessing "unmatched" would lose rows).
    pub async fn find(&mut self, key: &MovieKey) -> Result<Match, Cause> {
        if let Some(m) = self.memo.get(key) {
            return Ok(m.clone());
        }
        let found = self.look_up(key).await?;
        self.memo.insert(key.clone(), found.clone());
        Ok(found)
    }

    async fn look_up(&self, key: &MovieKey) -> Result<Match, Cause> {
        if let Some(id) = key.tmdb {
            match self.movies.details_shared(id).await {
                Ok(d) => return Ok(Match::Found(MovieCard::from(d.value.as_ref()))),
                Err(MovieError::NotFound) => {}
                Err(MovieError::UpstreamUnavailable(c) | MovieError::UpstreamMisconfigured(c)) => return Err(c),
            }
        }
        if let Some(imdb) = &key.imdb {
            match self.movies.find_by_imdb(imdb).await {
                Ok(id) => match self.movies.details_shared(id).await {
                    Ok(d) => return Ok(Match::Found(MovieCard::from(d.value.as_ref()))),
                    Err(MovieError::NotFound) => {}
                    Err(MovieError::UpstreamUnavailable(c) | MovieError::UpstreamMisconfigured(c)) => return Err(c),
                },
                Err(MovieError::NotFound) => {}
                Err(MovieError::UpstreamUnavailable(c) | MovieError::UpstreamMisconfigured(c)) => return Err(c),
            }
        }
        let titled = [key.title.as_deref(), key.original_title.as_deref()];
        for title in titled.into_iter().flatten().filter(|t| !t.trim().is_empty()) {
            match self.by_title(title, key.year).await? {
                Match::Unmatched(_) => {}
                decided => return Ok(decided),
            }
        }
        let why = match (&key.title, key.tmdb, &key.imdb) {
            (None, None, None) => "the row names no movie".to_owned(),
            (Some(_), _, _) => format!("no movie called {} was found", key.describe()),
            _ => format!("no movie has the id of {}", key.describe()),
        };
        Ok(Match::Unmatched(why))
    }

    async fn search(&self, title: &str, year: Option<i32>) -> Result<Vec<MovieSummary>, Cause> {
        let Ok(q) = SearchQuery::new(title, year) else { return Ok(Vec::new()) };
        match self.movies.search(&q, PageRequest::first()).await {
            Ok(page) => Ok(page.value.items),
            Err(MovieError::NotFound) => Ok(Vec::new()),
            Err(MovieError::UpstreamUnavailable(c) | MovieError::UpstreamMisconfigured(c)) => Err(c),
        }
    }

    /// The one result whose (original) title is `title` and whose year
    /// passes `year_ok`; ambiguous when several do.
    async fn pick(
        &self,
        found: &[MovieSummary],
        title: &str,
        year_ok: impl Fn(Option<i32>) -> bool,
    ) -> Result<Option<Match>, Cause> {
        let want = normalise(title);
        let same = |s: &MovieSummary| {
            normalise(&s.title) == want || s.original_title.as_deref().is_some_and(|o| normalise(o) == want)
        };
        let hits: Vec<&MovieSummary> = found.iter().filter(|s| same(s) && year_ok(year_of(s))).collect();
        match hits.as_slice() {
            [] => Ok(None),
            [one] => match self.movies.details_shared(one.id).await {
                Ok(d) => Ok(Some(Match::Found(MovieCard::from(d.value.as_ref())))),
                Err(MovieError::NotFound) => Ok(None),
                Err(MovieError::UpstreamUnavailable(c) | MovieError::UpstreamMisconfigured(c)) => Err(c),
            },
            many => {
                let names: Vec<String> = many
                    .iter()
                    .map(|s| format!("{} ({}, tmdb {})", s.title, year_of(s).unwrap_or(0), s.id.get()))
                    .collect();
                Ok(Some(Match::Ambiguous(format!("several movies match: {}", names.join(", ")))))
            }
        }
    }

    async fn by_title(&self, title: &str, year: Option<i32>) -> Result<Match, Cause> {
        let Some(y) = year else {
            let found = self.search(title, None).await?;
            return Ok(self.pick(&found, title, |_| true).await?.unwrap_or(Match::Unmatched(String::new())));
        };
        let exact = self.search(title, Some(y)).await?;
        if let Some(m) = self.pick(&exact, title, |got| got == Some(y)).await? {
            return Ok(m);
        }
        let any = self.search(title, None).await?;
        let near = |got: Option<i32>| got.is_some_and(|g| (g - y).abs() == 1);
        Ok(self.pick(&any, title, near).await?.unwrap_or(Match::Unmatched(String::new())))
    }
}

#[cfg(test)]
mod tests {
    use super::normalise;

    #[test]
    fn titles_compare_without_case_punctuation_or_ampersands() {
        assert_eq!(normalise("Spider-Man: Into the Spider-Verse"), "spider man into the spider verse");
        assert_eq!(normalise("Love & Death"), normalise("Love and Death"));
        assert_eq!(normalise("  WALL·E "), "wall e");
        assert_eq!(normalise("Amélie"), "amélie");
    }
}
