"""pytrakt (PyPI, unmodified) against WatchMe's Trakt-compatible API.

Usage: pytrakt_walk.py BASE_URL CONFIG_PATH, with BASE_URL ending in "/"
(pytrakt joins paths by concatenation, so its device-flow paths arrive as
"//oauth/..."). It signs in with the device flow (the driving test approves
the code it prints), then walks history, ratings, watchlist, lists,
scrobbling and last activities, checking every answer. Its access tokens
live shorter than pytrakt's 10-minute refresh margin, so pytrakt refreshes
them through /oauth/token on its own. Exits non-zero on the first wrong answer.
"""

import sys

import trakt
import trakt.core
from trakt.errors import ConflictException, NotFoundException
from trakt.movies import Movie
from trakt.pagination import paginate
from trakt.sync import add_to_history, get_watchlist, remove_from_history, search, search_by_id
from trakt.users import User, UserList

BASE, CONFIG = sys.argv[1], sys.argv[2]
trakt.core.BASE_URL = BASE
trakt.core.CONFIG_PATH = CONFIG
trakt.core.AUTH_METHOD = trakt.core.DEVICE_AUTH


def step(name):
    print(f"STEP {name}", flush=True)


def ids(items):
    return [i.get("ids", {}) for i in items]


step("device flow")
trakt.init(client_id="pytrakt-walk", client_secret="unused", store=True)
first_token = trakt.core.config().OAUTH_TOKEN
assert first_token, "a token after the device flow"

step("add plays: one repeated, one unknown, one by IMDb id")
at = "2024-01-01T10:00:00.000Z"
res = add_to_history({"movies": [
    {"ids": {"tmdb": 550}, "watched_at": at},
    {"ids": {"tmdb": 550}, "watched_at": at},
    {"ids": {"tmdb": 999999999}},
    {"ids": {"imdb": "tt0133093"}, "watched_at": "2024-02-01T20:00:00.000Z"},
    {"ids": {"slug": "inception-2010"}, "watched_at": "2024-03-01T20:00:00.000Z"},
]})
assert res["added"]["movies"] == 3, res
assert ids(res["not_found"]["movies"]) == [{"tmdb": 999999999}], res
again = add_to_history({"movies": [{"ids": {"tmdb": 550}, "watched_at": at}]})
assert again["added"]["movies"] == 0, f"a repeated play adds nothing: {again}"

step("a movie by its slug")
fight_club = Movie("Fight Club", 1999)
assert (fight_club.tmdb, fight_club.imdb, fight_club.trakt) == (550, "tt0137523", 550), fight_club.ids
matrix = Movie("The Matrix", 1999)
assert matrix.tmdb == 603, matrix.ids

step("remove one")
res = remove_from_history(matrix)
assert res["deleted"]["movies"] == 1, res

step("read history back")
history = paginate("sync/history/movies")
assert sorted(h["movie"]["ids"]["tmdb"] for h in history) == [550, 27205], history
assert all(h["type"] == "movie" and h["action"] == "watch" for h in history), history
assert any(h["watched_at"] == at for h in history), history
me = User("me")
watched = {m.tmdb: m for m in me.watched_movies}
assert set(watched) == {550, 27205}, watched
assert watched[550].plays == 1, watched[550].plays

step("rate")
fight_club.rate(9)
ratings = me.get_ratings("movies")
assert [(r["movie"]["ids"]["tmdb"], r["rating"]) for r in ratings] == [(550, 9)], ratings

step("watchlist")
knight = Movie("The Dark Knight", 2008)
res = knight.add_to_watchlist()
assert res["added"]["movies"] == 1 and res["list"]["item_count"] == 1, res
assert [m.tmdb for m in get_watchlist("movies")] == [155]
assert [m.tmdb for m in me.watchlist_movies] == [155]

step("a list with items")
created = UserList.create("Favourites of 1999", "me", description="the best year", privacy="private")
assert created.name == "Favourites of 1999", created
created.add_items(fight_club, matrix)
loaded = UserList.get("Favourites of 1999", "me")
assert loaded.item_count == 2, loaded.item_count
assert sorted(m.title for m in loaded) == ["Fight Club", "The Matrix"], list(loaded)
assert [lst.name for lst in me.lists] == ["Favourites of 1999"]

step("scrobble start, then stop past the threshold")
inception = Movie("Inception", 2010)
scrobbler = inception.scrobble(10.0, "1.0", "2026-01-01")
playing = me.watching
assert playing is not None and playing.tmdb == 27205, playing
done = scrobbler.stop(95.0)
assert done["action"] == "scrobble" and done["movie"]["ids"]["tmdb"] == 27205, done
assert me.watching is None, "nothing plays after the stop"
try:
    scrobbler.stop(99.0)
    raise AssertionError("a second stop within the window must be refused")
except ConflictException as e:
    body = e.response.json()
    assert body["watched_at"] and body["expires_at"], body

step("last activities")
acts = trakt.core.api().get("sync/last_activities")
for key in ["all", "movies", "lists", "watchlist", "favorites", "account", "episodes", "shows"]:
    assert key in acts, key
assert acts["movies"]["watched_at"] > "2000", acts["movies"]
assert acts["movies"]["rated_at"] > "2000", acts["movies"]
assert acts["lists"]["updated_at"] > "2000", acts["lists"]

step("search")
found = search("The Matrix", "movie")
assert any(m.tmdb == 603 for m in found), found
assert [m.tmdb for m in search_by_id("tt0133093", id_type="imdb")] == [603]
try:
    Movie("no-such-movie-1888")
    raise AssertionError("an unknown slug is a 404")
except NotFoundException:
    pass

step("tokens were refreshed")
assert trakt.core.config().OAUTH_TOKEN != first_token, "pytrakt refreshed its short-lived token"
print("PYTRAKT OK", flush=True)
