"""The soak's workload: a locust file (``locust -f workload.py``).

Each virtual user is a person with an account of their own, on one of the
API replicas (``SOAK_HOSTS``, spread round-robin), who browses and searches
most of the time and now and then records plays, changes their library,
favorites, keeps a list, logs in and out, sends a media-server webhook and
imports a small Trakt history. Think time is ``SOAK_THINK`` ("min,max"
seconds); the mix is ``SOAK_MIX`` ("task=weight,...", see ``WEIGHTS``).

Every request is written to ``SOAK_OUT/requests.csv`` (start time, name,
status, milliseconds, replica; status 0 when no answer came), and every
write to ``SOAK_OUT/writes.jsonl``: what was attempted, then what came back,
so the verdict can tell what was acknowledged (2xx) from what may or may not
have happened (no answer, 5xx).
"""

import itertools
import json
import os
import random
import time
import uuid

from locust import HttpUser, between, events, task

HOSTS = os.environ["SOAK_HOSTS"].split(",")
OUT = os.environ["SOAK_OUT"]
THINK = [float(x) for x in os.environ.get("SOAK_THINK", "0.5,2").split(",")]
PASSWORD = "soak correct horse battery"
FIRST, MOVIES = 100, 400
# Films by use, so one kind of write never changes what another checks: plays
# by id, library statuses and ratings, webhook scrobbles, imports.
PLAYED = range(FIRST, FIRST + 100)
LIBRARY = range(FIRST + 100, FIRST + 200)
SCROBBLED = range(FIRST + 200, FIRST + 300)
IMPORTED = range(FIRST + 300, FIRST + 400)
ANY = range(FIRST, FIRST + MOVIES)
WEIGHTS = {
    "popular": 25, "search": 12, "movie": 18, "movie_anonymous": 8, "my_pages": 6, "trending": 3,
    "play": 6, "unplay": 1, "library": 5, "favorite": 3, "list_item": 3,
    "login": 1, "refresh": 2, "logout": 1, "webhook": 2, "import_history": 1,
}  # fmt: skip
for part in filter(None, os.environ.get("SOAK_MIX", "").split(",")):
    name, weight = part.split("=")
    assert name in WEIGHTS, f"SOAK_MIX names {name}, not one of {sorted(WEIGHTS)}"
    WEIGHTS[name] = int(weight)

requests_log = open(os.path.join(OUT, "requests.csv"), "a", buffering=1)
writes_log = open(os.path.join(OUT, "writes.jsonl"), "a", buffering=1)
sequence = itertools.count()
user_numbers = itertools.count()


@events.request.add_listener
def record(request_type, name, response_time, response, context, exception, start_time=None, **_):
    status = getattr(response, "status_code", 0) or 0
    requests_log.write(f"{start_time or time.time():.3f},{request_type} {name},{status},{response_time:.1f},{context.get('replica', -1)}\n")


def note(**fields):
    writes_log.write(json.dumps(fields) + "\n")


class Person(HttpUser):
    wait_time = between(*THINK)
    host = HOSTS[0]

    def on_start(self):
        self.number = next(user_numbers)
        self.replica = self.number % len(HOSTS)
        self.client.base_url = HOSTS[self.replica]
        self.email = f"soak-{uuid.uuid4().hex[:12]}@example.com"
        self.access = self.refresh_token = None
        self.list_id = self.webhook = None
        self.plays = []
        # Scrobbles and imports are dated two hours apart, further than the
        # duplicate window, so each is a play of its own.
        self.clock = itertools.count(int(time.time()) - 86400 * 365 - self.number * 10**6, -7200)
        while not self.write("user", "POST", "/auth/register", {"email": self.email, "password": PASSWORD}, name="/auth/register"):
            time.sleep(1)

    def context(self):
        return {"replica": self.replica}

    def headers(self):
        return {"authorization": f"Bearer {self.access}"} if self.access else {}

    def call(self, method, path, body=None, name=None, auth=True, raw=None, content_type=None):
        """One request; the response, or None when none came."""
        headers = self.headers() if auth else {}
        if content_type:
            headers["content-type"] = content_type
        with self.client.request(method, path, json=body, data=raw, headers=headers, name=name or path, context=self.context(), catch_response=True, timeout=30) as r:
            r.success()  # the verdict reads statuses itself
            if r.status_code == 401 and auth and self.access:
                self.access = None
            return r

    def write(self, kind, method, path, body=None, key=None, value=None, name=None, raw=None, content_type=None):
        """A write, noted before it is sent and with what came back."""
        seq = next(sequence)
        note(seq=seq, kind=kind, user=self.email, key=key, value=value, at=time.time(), replica=self.replica)
        r = self.call(method, path, body, name=name, raw=raw, content_type=content_type)
        status = r.status_code or 0
        result = None
        if 200 <= status < 300 and r.text:
            try:
                result = r.json()
            except ValueError:
                result = None
        note(seq=seq, status=status, result=result)
        return result if 200 <= status < 300 and result is not None else (200 <= status < 300)

    def signed_in(self):
        if self.access:
            return True
        r = self.call("POST", "/auth/login", {"email": self.email, "password": PASSWORD}, auth=False)
        if r.status_code == 200:
            body = r.json()
            self.access, self.refresh_token = body["access_token"], body["refresh_token"]
        return bool(self.access)

    # Reading, most of the traffic.
    @task(WEIGHTS["popular"])
    def popular(self):
        self.call("GET", f"/movies/popular?page={random.randint(1, 5)}", name="/movies/popular", auth=False)

    @task(WEIGHTS["search"])
    def search(self):
        self.call("GET", f"/movies/search?query=film%20{random.randint(10, 49)}", name="/movies/search", auth=False)

    @task(WEIGHTS["movie"])
    def movie(self):
        if self.signed_in():
            self.call("GET", f"/movies/{random.choice(ANY)}", name="/movies/{id}")

    @task(WEIGHTS["movie_anonymous"])
    def movie_anonymous(self):
        self.call("GET", f"/movies/{random.choice(ANY)}", name="/movies/{id} anonymous", auth=False)

    @task(WEIGHTS["my_pages"])
    def my_pages(self):
        if self.signed_in():
            path = random.choice(["/me/history", "/me/library", "/me/favorites", "/me/lists", "/me/activity"])
            self.call("GET", path)

    @task(WEIGHTS["trending"])
    def trending(self):
        self.call("GET", "/analytics/trending?window=day", name="/analytics/trending", auth=False)

    # Writing.
    @task(WEIGHTS["play"])
    def play(self):
        if not self.signed_in():
            return
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - random.randint(60, 10**8)))
        done = self.write("play", "POST", "/me/history", {"plays": [{"movie_id": random.choice(PLAYED), "watched_at": at}]})
        if isinstance(done, dict):
            self.plays.extend(p["id"] for p in done.get("added", []))

    @task(WEIGHTS["unplay"])
    def unplay(self):
        if self.plays and self.signed_in():
            play = self.plays.pop(random.randrange(len(self.plays)))
            self.write("unplay", "DELETE", f"/me/history/{play}", key=play, name="/me/history/{id}")

    @task(WEIGHTS["library"])
    def library(self):
        if not self.signed_in():
            return
        movie = random.choice(LIBRARY)
        change = random.random()
        if change < 0.45:
            status = random.choice(["want_to_watch", "watching", "watched"])
            self.write("library", "PUT", f"/me/library/{movie}", {"status": status}, key=[movie, "status"], value=status, name="/me/library/{id}")
        elif change < 0.9:
            rating = random.randint(1, 10)
            self.write("library", "PUT", f"/me/library/{movie}", {"rating": rating}, key=[movie, "rating"], value=rating, name="/me/library/{id}")
        else:
            self.write("library_removed", "DELETE", f"/me/library/{movie}", key=[movie, "entry"], name="/me/library/{id}")

    @task(WEIGHTS["favorite"])
    def favorite(self):
        if not self.signed_in():
            return
        movie = random.choice(ANY)
        on = random.random() < 0.7
        self.write("favorite", "PUT" if on else "DELETE", f"/me/favorites/{movie}", key=movie, value=on, name="/me/favorites/{id}")

    @task(WEIGHTS["list_item"])
    def list_item(self):
        if not self.signed_in():
            return
        if self.list_id is None:
            made = self.write("list", "POST", "/me/lists", {"name": f"Soak list {self.number}", "privacy": "private"})
            if isinstance(made, dict):
                self.list_id = made["id"]
            return
        movie = random.choice(ANY)
        on = random.random() < 0.7
        path = f"/me/lists/{self.list_id}/items/{movie}"
        self.write("list_item", "PUT" if on else "DELETE", path, {} if on else None, key=[self.list_id, movie], value=on, name="/me/lists/{id}/items/{movie_id}")

    # Sessions.
    @task(WEIGHTS["login"])
    def login(self):
        self.access = None
        self.signed_in()

    @task(WEIGHTS["refresh"])
    def refresh(self):
        if not self.refresh_token:
            return
        r = self.call("POST", "/auth/refresh", {"refresh_token": self.refresh_token}, auth=False)
        if r.status_code == 200:
            body = r.json()
            self.access, self.refresh_token = body["access_token"], body["refresh_token"]
        elif r.status_code == 401:
            self.access = self.refresh_token = None

    @task(WEIGHTS["logout"])
    def logout(self):
        if self.signed_in():
            refresh_token = self.refresh_token
            if self.write("logout", "POST", "/auth/logout", key=refresh_token):
                self.access = self.refresh_token = None

    # A media server and an import.
    @task(WEIGHTS["webhook"])
    def webhook_scrobble(self):
        if self.webhook is None:
            if self.signed_in():
                made = self.write("webhook", "POST", "/me/webhooks", {"kind": "generic"})
                if isinstance(made, dict):
                    self.webhook = "/" + made["url"].split("/", 3)[3]
            return
        movie, at = random.choice(SCROBBLED), next(self.clock)
        watched_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
        body = {"event": "scrobble", "movie": {"tmdb": movie}, "watched_at": watched_at}
        self.write("scrobble", "POST", self.webhook, body, key=[movie, at], name="/webhooks/generic/{secret}")

    @task(WEIGHTS["import_history"])
    def import_history(self):
        if not self.signed_in():
            return
        plays = [(random.choice(IMPORTED), next(self.clock)) for _ in range(3)]
        history = [
            {"id": n, "watched_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(at)), "action": "watch", "type": "movie",
             "movie": {"title": f"Soak Film {m}", "year": 1950 + m % 70, "ids": {"trakt": m, "tmdb": m}}}
            for n, (m, at) in enumerate(plays)
        ]  # fmt: skip
        self.write("import", "POST", "/me/imports?source=trakt", key=plays, name="/me/imports", raw=json.dumps(history), content_type="application/json")
