"""The soak's verdict, computed from the data: the database as the run left
it, the workload's log of writes and requests, and the samples taken once a
second. docs/reliability.md explains each check and how to read the report.
"""

import csv
import io
import json
import os
import subprocess
import urllib.error
import urllib.request
from collections import Counter, defaultdict

MICROS = 1_000_000


def rows(db_url, sql, timeout=120):
    """The rows of a query, as lists of strings (CSV through COPY, so any text survives)."""
    out = subprocess.run(["psql", db_url, "-Xq", "-c", f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"], capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"{sql}: {out.stderr.strip()}")
    return list(csv.reader(io.StringIO(out.stdout)))


def outbox_progress(db_url, timeout=120):
    """(events not yet published, events not yet applied by a consumer)."""
    unpublished, unapplied = rows(db_url, "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL), (SELECT count(*) FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM analytics_applied a WHERE a.event_id = o.event_id))", timeout)[0]
    return int(unpublished), int(unapplied)


def check(name, problems, detail):
    return {"check": name, "passed": not problems, "detail": detail, "problems": problems[:20], "problem_count": len(problems)}


def load_writes(out):
    attempts, results = {}, {}
    with open(os.path.join(out, "writes.jsonl")) as f:
        for line in f:
            w = json.loads(line)
            (results if "status" in w else attempts)[w["seq"]] = w
    for seq, a in attempts.items():
        r = results.get(seq, {"status": 0, "result": None})
        a["status"], a["result"] = r["status"], r["result"]
    return [attempts[s] for s in sorted(attempts)]


def load_requests(out, t0):
    reqs = []
    with open(os.path.join(out, "requests.csv")) as f:
        for t, name, status, ms, replica in csv.reader(f):
            reqs.append((float(t) - t0, name, int(status), float(ms), int(replica)))
    return reqs


def acked(w):
    return 200 <= w["status"] < 300


def uncertain(w):
    return w["status"] == 0 or w["status"] >= 500


def final_values(writes, initial):
    """What a key may hold after this sequence of writes to it: the last
    acknowledged value, or any value sent after it whose answer never came."""
    possible = {initial}
    for value, w in writes:
        if acked(w):
            possible = {value}
        elif uncertain(w):
            possible.add(value)
    return possible


def check_writes(db_url, writes, hosts, kills):
    users = {email: uid for uid, email in rows(db_url, "SELECT id, lower(email) FROM users")}
    plays = {pid: (uid, int(m), int(at)) for pid, uid, m, at in rows(db_url, "SELECT id, user_id, movie_id, watched_at FROM plays")}
    dated = {(uid, m, at) for uid, m, at in plays.values()}
    library = {(uid, int(m)): (st or None, int(r) if r else None) for uid, m, st, r in rows(db_url, "SELECT user_id, movie_id, status, rating FROM library_entries")}
    favorites = {(uid, int(m)) for uid, m in rows(db_url, "SELECT user_id, movie_id FROM favorites")}
    lists = {lid for (lid,) in rows(db_url, "SELECT id FROM user_lists")}
    items = {(lid, int(m)) for lid, m in rows(db_url, "SELECT list_id, movie_id FROM list_items")}
    jobs = {jid: (st, err) for jid, st, err in rows(db_url, "SELECT id, status, coalesce(error, '') FROM import_jobs")}
    problems, counts, notes = [], Counter(), Counter()
    keyed = defaultdict(list)
    unplayed = {w["key"] for w in writes if w["kind"] == "unplay"}
    for w in writes:
        kind, uid = w["kind"], users.get(w["user"].lower())
        counts[f"{kind} sent"] += 1
        if acked(w):
            counts[f"{kind} acknowledged"] += 1
        if kind == "user" and acked(w) and uid is None:
            problems.append(f"registered {w['user']} (201) is not in users")
        elif kind == "play" and acked(w):
            for p in w["result"].get("added", []) + w["result"].get("existing", []):
                if p["id"] not in plays and p["id"] not in unplayed:
                    problems.append(f"play {p['id']} of {w['user']} (201) is not in plays")
        elif kind == "unplay" and acked(w) and w["key"] in plays:
            problems.append(f"play {w['key']} removed (204) is still in plays")
        elif kind in ("library", "library_removed"):
            movie, field = w["key"]
            fields = ["status", "rating"] if field == "entry" else [field]
            for f in fields:
                keyed[("library", w["user"], movie, f)].append((None if field == "entry" else w["value"], w))
        elif kind == "favorite":
            keyed[("favorite", w["user"], w["key"])].append((w["value"], w))
        elif kind == "list" and acked(w) and w["result"]["id"] not in lists:
            problems.append(f"list {w['result']['id']} (201) is not in user_lists")
        elif kind == "list_item":
            keyed[("item", w["user"], tuple(w["key"]))].append((w["value"], w))
        elif kind == "scrobble" and acked(w):
            outcome = next(iter(w["result"] or {"none": 0}))
            notes[f"scrobble {outcome}"] += 1
            movie, at = w["key"]
            if outcome == "accepted" and (uid, movie, at * MICROS) not in dated:
                problems.append(f"scrobble of {movie} at {at} by {w['user']} (accepted) is not in plays")
        elif kind == "import" and acked(w):
            status, error = jobs.get(w["result"]["id"], (None, ""))
            notes[f"import {status}"] += 1
            if status == "done":
                for movie, at in w["key"]:
                    if (uid, movie, at * MICROS) not in dated:
                        problems.append(f"import {w['result']['id']} is done but its play of {movie} at {at} is not in plays")
            elif status == "failed" and not error:
                problems.append(f"import {w['result']['id']} failed without a reason")
            elif status == "failed":
                notes[f"import failed: {error[:100]}"] += 1
            elif status in (None, "queued", "running"):
                interrupted = any(k["replica"] == w["replica"] and k["start"] >= w["at"] for k in kills)
                if not interrupted:
                    problems.append(f"import {w['result']['id']} (202) is {status} and its replica was never killed")
                else:
                    notes["import interrupted by a replica kill, failed by the stale-job sweep within 2 min"] += 1
    for key, seq in keyed.items():
        uid = users.get(key[1].lower())
        if key[0] == "library":
            entry = library.get((uid, key[2]), (None, None))
            have = entry[0] if key[3] == "status" else entry[1]
            want = final_values(seq, None)
        elif key[0] == "favorite":
            have, want = (uid, key[2]) in favorites, final_values(seq, False)
        else:
            list_id, movie = key[2]
            have, want = (list_id, movie) in items, final_values(seq, False)
        if have not in want:
            problems.append(f"{key}: the database holds {have!r}, the acknowledged writes leave {sorted(map(str, want))}")
    # Logged-out sessions stay logged out.
    for w in [w for w in writes if w["kind"] == "logout" and acked(w)][:30]:
        status = post_status(f"{hosts[0]}/auth/refresh", {"refresh_token": w["key"]})
        if status != 401:
            problems.append(f"a refresh token logged out (204) answers {status}, not 401")
    detail = {"counts": dict(sorted(counts.items())), "notes": dict(notes), "users": len(users), "plays": len(plays)}
    return check("every acknowledged write is in the database", problems, detail)


def post_status(url, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


STAT_COLUMNS = ["views", "plays", "unique_viewers", "favorites", "want_to_watch", "watching", "watched", "ratings_count", "ratings_sum"]


def check_aggregates(db_url):
    """The analytics tables against the same figures recomputed from the
    source tables and the outbox: each event counted exactly once."""
    expected = defaultdict(Counter)
    for m, n in rows(db_url, "SELECT movie_id, count(*) FROM plays GROUP BY movie_id"):
        expected[int(m)]["plays"] = int(n)
    for m, n in rows(db_url, "SELECT movie_id, count(*) FROM favorites GROUP BY movie_id"):
        expected[int(m)]["favorites"] = int(n)
    for m, st, n in rows(db_url, "SELECT movie_id, status, count(*) FROM library_entries WHERE status IS NOT NULL GROUP BY 1, 2"):
        expected[int(m)][st] = int(n)
    for m, n, total in rows(db_url, "SELECT movie_id, count(*), sum(rating) FROM library_entries WHERE rating IS NOT NULL GROUP BY 1"):
        expected[int(m)]["ratings_count"], expected[int(m)]["ratings_sum"] = int(n), int(total)
    viewers = defaultdict(set)
    events = Counter()
    logged_views = Counter()
    for (envelope,) in rows(db_url, "SELECT envelope FROM outbox WHERE event_type IN ('movie_viewed', 'movie_views_counted')"):
        e = json.loads(envelope)
        p = e["payload"]
        events[e["event_type"]] += 1
        expected[p["movie_id"]]["views"] += p.get("views", 1)
        if p.get("user_id"):
            viewers[p["movie_id"]].add(p["user_id"])
            logged_views[p["movie_id"]] += 1
    for m, users in viewers.items():
        expected[m]["unique_viewers"] = len(users)
    actual = {int(r[0]): Counter(dict(zip(STAT_COLUMNS, map(int, r[1:])))) for r in rows(db_url, f"SELECT movie_id, {', '.join(STAT_COLUMNS)} FROM movie_stats")}
    problems = []
    for m in sorted(set(expected) | set(actual)):
        for col in STAT_COLUMNS:
            want, have = expected[m][col], actual.get(m, Counter())[col]
            if want != have:
                problems.append(f"movie {m} {col}: {have} counted, {want} recomputed")
    hourly = {"views": "movie_views_hourly", "plays": "movie_plays_hourly"}
    for col, table in hourly.items():
        for m, total in rows(db_url, f"SELECT movie_id, sum({col}) FROM {table} GROUP BY movie_id"):
            if int(total) != expected[int(m)][col]:
                problems.append(f"movie {m} hourly {col}: {total} in {table}, {expected[int(m)][col]} recomputed")
    for m, n in rows(db_url, "SELECT movie_id, count(*) FROM views GROUP BY movie_id"):
        if int(n) != logged_views[int(m)]:
            problems.append(f"movie {m}: {n} logged-in views stored, {logged_views[int(m)]} movie_viewed events with a user")
    (registered,) = rows(db_url, "SELECT (SELECT count(*) FROM users_registered) - (SELECT count(*) FROM users)")[0]
    if registered != "0":
        problems.append(f"users_registered differs from users by {registered}")
    totals = {c: sum(e[c] for e in expected.values()) for c in STAT_COLUMNS}
    return check("analytics count every event exactly once", problems, {"movies": len(expected), "totals": totals, "view_events": dict(events)})


def check_events(db_url):
    """Every event published and applied; every play and user has its event."""
    problems = []
    unpublished, unapplied = outbox_progress(db_url)
    if unpublished:
        problems.append(f"{unpublished} events never published")
    if unapplied:
        problems.append(f"{unapplied} events never applied by a consumer")
    recorded = {json.loads(e)["payload"]["play_id"] for (e,) in rows(db_url, "SELECT envelope FROM outbox WHERE event_type = 'play_recorded'")}
    removed = {json.loads(e)["payload"]["play_id"] for (e,) in rows(db_url, "SELECT envelope FROM outbox WHERE event_type = 'play_removed'")}
    plays = {pid for (pid,) in rows(db_url, "SELECT id FROM plays")}
    if plays - recorded:
        problems.append(f"{len(plays - recorded)} plays without a play_recorded event, e.g. {sorted(plays - recorded)[:3]}")
    if (recorded - removed) - plays:
        problems.append(f"{len((recorded - removed) - plays)} play_recorded events for plays not in the table")
    (extra,) = rows(db_url, "SELECT (SELECT count(*) FROM outbox WHERE event_type = 'user_registered') - (SELECT count(*) FROM users)")[0]
    if extra != "0":
        problems.append(f"user_registered events and users differ by {extra}")
    by_type = dict((t, int(n)) for t, n in rows(db_url, "SELECT event_type, count(*) FROM outbox GROUP BY 1 ORDER BY 2 DESC"))
    dead = rows(db_url, "SELECT count(*) FROM outbox WHERE attempts > 1")[0][0]
    return check("every event published and applied", problems, {"events": by_type, "events_retried_by_the_relay": int(dead)})


def windows_of(windows, fault):
    return [w for w in windows if w["fault"] == fault]


LOOKUPS = ("GET /movies", "PUT /me/library", "PUT /me/favorites", "PUT /me/lists", "POST /me/history", "POST /webhooks")


def check_statuses(reqs, windows, scale, cooldown):
    """No 5xx outside the database's downtime, and 503 (never 500) inside
    it; no unanswered request but to the replica while it was killed."""
    grace = max(2.0, 10 * scale)  # the pool's first connections after the restart
    db = [(w["start"], w["end"] + grace) for w in windows_of(windows, "database")]
    # A film no cache holds cannot be looked up until the breaker's next trial.
    tmdb = [(w["start"], w["end"] + grace + cooldown) for w in windows_of(windows, "tmdb")]
    killed = [(w["start"], w["end"] + grace) for w in windows_of(windows, "replica")]
    inside = lambda t, ws: any(a <= t <= b for a, b in ws)  # noqa: E731
    problems, allowed = [], Counter()
    for t, name, status, _ms, replica in reqs:
        if status == 0:
            if replica == 1 and inside(t, killed):
                allowed["no answer from the killed replica"] += 1
            else:
                problems.append(f"{t:.1f} s {name}: no answer (replica {replica + 1})")
        elif status >= 500:
            if status == 503 and inside(t, db):
                allowed["503 while the database restarted"] += 1
            elif status == 503 and inside(t, tmdb) and name.startswith(LOOKUPS):
                allowed[f"503 for a film no cache held while TMDb failed: {name}"] += 1
            else:
                problems.append(f"{t:.1f} s {name}: {status}")
    total = Counter("5xx" if s >= 500 else "no answer" if s == 0 else f"{s // 100}xx" for _, _, s, _, _ in reqs)
    return check("no 5xx outside the database's downtime, 503 inside it", problems, {"answers": dict(total), "allowed": dict(allowed)})


def check_processes(out, died):
    problems = [f"{name} exited by itself with {code}" for name, code in died.items()]
    for log in sorted(os.listdir(out)):
        if log.endswith(".log") and not log.startswith(("locust", "postgres", "broker", "redis", "initdb")):
            with open(os.path.join(out, log), errors="replace") as f:
                for line in f:
                    if "panicked at" in line:
                        problems.append(f"{log}: {line.strip()[:200]}")
    return check("no panic, no process died by itself", problems, {})


def check_memory(samples, seconds, load_end, strict):
    """RSS over the second half of the load, first tenth against last tenth."""
    half = [s for s in samples if seconds / 2 <= s["t"] <= load_end]
    problems, growth = [], {}
    if len(half) < 10:
        return check("memory stable over the second half", ["too few samples"], {})
    tenth = max(1, len(half) // 10)
    for name in half[0]["rss"]:
        first = [s["rss"][name] for s in half[:tenth] if s["rss"].get(name)]
        last = [s["rss"][name] for s in half[-tenth:] if s["rss"].get(name)]
        if not first or not last:
            continue
        a, b = sum(first) / len(first) / 1024, sum(last) / len(last) / 1024
        growth[name] = {"start_mb": round(a, 1), "end_mb": round(b, 1), "growth_mb": round(b - a, 1), "growth_pct": round(100 * (b - a) / a, 1)}
        if strict and name.startswith(("api", "relay", "consumer")) and b - a > max(16, 0.2 * a):
            problems.append(f"{name} grew {b - a:.1f} MB ({a:.0f} → {b:.0f} MB) over the second half")
    return check("memory stable over the second half", problems, {"rss": growth, "judged": strict})


def percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def fault_phases(windows, scale):
    """(name, start, end): each fault's window and the recovery after it."""
    recovery = 30 * scale
    marks = []
    for w in sorted(windows, key=lambda w: w["start"]):
        marks.append((f"{w['fault']} @{w['start']:.0f}s", w["start"], w["end"]))
        marks.append((f"after {w['fault']} @{w['start']:.0f}s", w["end"], w["end"] + recovery))
    return marks


def latency_table(reqs, windows, scale):
    """p50/p99 (ms) and counts per endpoint per phase; steady is time in no fault or recovery phase."""
    spans = fault_phases(windows, scale)
    table = defaultdict(lambda: defaultdict(list))
    for t, name, status, ms, _ in reqs:
        if status == 0:
            continue
        hit = [p for p, a, b in spans if a <= t < b]
        for p in hit or ["steady"]:
            table[name][p].append(ms)
    out = {}
    for name, by_phase in sorted(table.items()):
        out[name] = {p: {"n": len(v), "p50": round(percentile(v, 0.5), 1), "p99": round(percentile(v, 0.99), 1)} for p, v in by_phase.items()}
    return out


def recovery_times(reqs, samples, windows):
    """Seconds from each fault's end until the service is whole again: both
    replicas ready, no failed request for two seconds, and (for the broker and
    the consumer) the backlog or lag back to what it was before any fault."""
    first_fault = min((w["start"] for w in windows), default=0)
    steady = [s for s in samples if s["t"] < first_fault]
    backlog_ok = max([50] + [s["backlog"] or 0 for s in steady])
    lag_ok = max([50] + [s["lag"] or 0 for s in steady])
    failed = sorted(t for t, name, status, _, _ in reqs if status == 0 or status >= 500)
    out = {}
    for w in windows:
        key = f"{w['fault']} @{w['start']:.0f}s"
        for s in samples:
            if s["t"] < w["end"] or not all(s["ready"]):
                continue
            if w["fault"] == "broker" and (s["backlog"] is None or s["backlog"] > backlog_ok):
                continue
            if w["fault"] == "consumer" and (s["lag"] is None or s["lag"] > lag_ok):
                continue
            if any(s["t"] - 2 <= t <= s["t"] for t in failed):
                continue
            out[key] = round(max(0.0, s["t"] - w["end"]), 1)
            break
        else:
            out[key] = None
    return out


def compute(out, db_url, hosts, windows, samples, t0, seconds, drained, died, scale, tmdb_requests, users, think, cooldown, remedies):
    reqs = load_requests(out, t0)
    writes = load_writes(out)
    load_end = max((r[0] for r in reqs), default=seconds)
    kills = [{"replica": 1, "start": w["start"] + t0} for w in windows_of(windows, "replica")]
    checks = [
        check("the outbox and the consumers drained after the load", [] if drained is not None else ["not drained in time"], {"seconds": drained}),
        check_writes(db_url, writes, hosts, kills),
        check_events(db_url),
        check_aggregates(db_url),
        check_statuses(reqs, windows, scale, cooldown),
        check_processes(out, died),
        check_memory(samples, seconds, load_end, strict=seconds >= 300),
    ]
    recovered = recovery_times(reqs, samples, windows)
    unrecovered = [k for k, v in recovered.items() if v is None]
    checks.append(check("every fault recovered from", [f"{k}: not recovered before the load ended" for k in unrecovered], recovered))
    return {
        "passed": all(c["passed"] for c in checks),
        "minutes": seconds / 60,
        "users": users,
        "think_seconds": think,
        "requests": len(reqs),
        "requests_per_second": round(len(reqs) / max(1, load_end), 1),
        "tmdb_requests": tmdb_requests,
        "faults": sorted(windows, key=lambda w: w["start"]),
        "checks": checks,
        "recovery_seconds": recovered,
        "broker_group_remedies": remedies,
        "latency_ms": latency_table(reqs, windows, scale),
        "samples": samples,
    }


def markdown(r):
    lines = [f"# Soak report: {'PASSED' if r['passed'] else 'FAILED'}", ""]
    lines.append(f"{r['minutes']:g} minutes, {r['users']} virtual users (think time {r['think_seconds']} s), {r['requests']} requests ({r['requests_per_second']}/s), {r['tmdb_requests']} TMDb calls.")
    lines += ["", "## Checks", "", "| check | result | detail |", "|---|---|---|"]
    for c in r["checks"]:
        detail = json.dumps(c["detail"], ensure_ascii=False).replace("|", "/")
        lines.append(f"| {c['check']} | {'pass' if c['passed'] else 'FAIL (' + str(c['problem_count']) + ')'} | {detail} |")
    for c in r["checks"]:
        for p in c["problems"]:
            lines.append(f"- {c['check']}: {p}")
    for m in r["broker_group_remedies"]:
        lines.append(f"- the broker kept the consumer group out (no event applied, {m['lag']} waiting): consumers restarted in group {m['new_group']} at {m['at']} s (tests/soak/soak.py GroupWatch)")
    lines += ["", "## Faults and recovery", "", "| fault | from (s) | to (s) | recovered after (s) |", "|---|---|---|---|"]
    for w in r["faults"]:
        key = f"{w['fault']} @{w['start']:.0f}s"
        lines.append(f"| {w['fault']} | {w['start']:.1f} | {w['end']:.1f} | {r['recovery_seconds'].get(key)} |")
    names = sorted({p for by in r["latency_ms"].values() for p in by}, key=lambda p: (p != "steady", float(p.split("@")[-1].rstrip("s")) if "@" in p else 0, p))
    lines += ["", "## Latency per endpoint and phase (p50 / p99 ms, requests)", ""]
    lines.append("| endpoint | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for endpoint, by in r["latency_ms"].items():
        cells = [f"{by[p]['p50']} / {by[p]['p99']} ({by[p]['n']})" if p in by else "" for p in names]
        lines.append(f"| {endpoint} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
