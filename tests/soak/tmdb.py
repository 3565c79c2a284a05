"""A TMDb-shaped HTTP server for the soak test, with faults on demand.

It answers the four TMDb v3 endpoints WatchMe calls (``/movie/popular``,
``/search/movie``, ``/movie/{id}`` with credits, ``/find/{imdb_id}``) over a
catalogue of ``MOVIES`` films made up from their ids, in TMDb's JSON shapes.
``mode`` switches it, while it runs, between answering (``ok``), failing
with TMDb's 500 error body (``error``) and answering too late for WatchMe's
timeout (``slow``): the soak's "upstream failing" fault.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

FIRST_ID = 100
MOVIES = 400
PAGE = 20
SLOW_SECS = 6.0


def title(movie_id):
    return f"Soak Film {movie_id}"


def year(movie_id):
    return 1950 + movie_id % 70


def imdb(movie_id):
    return f"tt{movie_id:07d}"


def summary(movie_id):
    return {
        "adult": False,
        "id": movie_id,
        "title": title(movie_id),
        "original_title": title(movie_id),
        "overview": f"The {movie_id}th film of the soak catalogue.",
        "release_date": f"{year(movie_id)}-06-01",
        "genre_ids": [18],
        "poster_path": f"/p{movie_id}.jpg",
        "backdrop_path": None,
        "vote_average": 5 + movie_id % 5,
        "vote_count": movie_id * 3,
        "popularity": 1000.0 / (1 + movie_id - FIRST_ID),
    }


def details(movie_id):
    d = summary(movie_id)
    del d["genre_ids"]
    d.update(
        {
            "genres": [{"id": 18, "name": "Drama"}],
            "imdb_id": imdb(movie_id),
            "original_language": "en",
            "runtime": 90 + movie_id % 60,
            "status": "Released",
            "tagline": "",
            "video": False,
            "credits": {"cast": [{"name": "A. Actor", "character": "Lead"}], "crew": [{"name": "D. Rector", "job": "Director"}]},
        }
    )
    return d


def page_of(ids, page):
    results = [summary(i) for i in ids[(page - 1) * PAGE : page * PAGE]]
    pages = max(1, (len(ids) + PAGE - 1) // PAGE)
    return {"page": page, "results": results, "total_pages": pages, "total_results": len(ids)}


ALL = list(range(FIRST_ID, FIRST_ID + MOVIES))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # the soak reads counts, not access logs
        pass

    def send(self, status, body):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json;charset=utf-8")
        self.send_header("content-length", str(len(raw)))
        try:
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # WatchMe stopped waiting (its timeout), as it should

    def do_GET(self):  # noqa: N802 (the standard library's name)
        server = self.server
        with server.lock:
            server.requests += 1
            mode = server.mode
        if mode == "error":
            return self.send(500, {"status_code": 11, "status_message": "Internal error: Something went wrong, contact TMDb.", "success": False})
        if mode == "slow":
            time.sleep(SLOW_SECS)
        url = urlparse(self.path)
        query = parse_qs(url.query)
        page = int(query.get("page", ["1"])[0] or 1)
        parts = [p for p in url.path.split("/") if p]
        if parts == ["movie", "popular"]:
            return self.send(200, page_of(ALL, page))
        if parts == ["search", "movie"]:
            words = query.get("query", [""])[0].lower()
            return self.send(200, page_of([i for i in ALL if words in title(i).lower()], page))
        if len(parts) == 2 and parts[0] == "movie" and parts[1].isdigit() and int(parts[1]) in ALL:
            return self.send(200, details(int(parts[1])))
        if len(parts) == 2 and parts[0] == "find":
            found = [summary(i) for i in ALL if imdb(i) == parts[1]]
            return self.send(200, {"movie_results": found, "tv_results": [], "person_results": []})
        return self.send(404, {"status_code": 34, "status_message": "The resource you requested could not be found.", "success": False})


class Tmdb:
    """The server, on a thread of the soak's process."""

    def __init__(self):
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.http.lock = threading.Lock()
        self.http.mode = "ok"
        self.http.requests = 0
        self.port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode):
        with self.http.lock:
            self.http.mode = mode

    def requests(self):
        with self.http.lock:
            return self.http.requests
