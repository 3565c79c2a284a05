"""The soak run: the stack, the workload, the faults on a schedule, the verdict.

``python soak.py --minutes 10 --binary target/release/watchme --out DIR``
(scripts/soak.sh is the way to call it). The schedule is written for ten
minutes and scaled to the run's length; every fault of issue 27 happens,
two of them overlapping. Once the load stops, the run waits for the outbox
and the consumers to drain, then computes the verdict from the database and
the request log (verdict.py) and writes ``report.md`` and ``report.json``.
Exit status 0 only when every check passed.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stack as stack_mod  # noqa: E402
import verdict  # noqa: E402
from tmdb import Tmdb  # noqa: E402

# (at, fault, seconds down) on the ten-minute scale. Restarts happen in the
# first half, so the second half measures memory of processes that lived
# through all of it.
SCHEDULE = [
    (30, "redis", 30),
    (80, "broker", 60),
    (110, "consumer", 5),  # while the broker is down
    (170, "database", 5),
    (220, "replica", 5),
    (330, "tmdb", 60),  # 500s for half of it, then answers too slow for the timeout
    (450, "redis", 30),
    (480, "tmdb", 20),  # overlapping the second Redis outage for ten seconds
]


# Progress queries while the run goes on must not hold the sampler up long.
QUERY_TIMEOUT = 20


class Sampler(threading.Thread):
    """Once a second: each process's memory, each replica's readiness, the outbox backlog and the consumers' lag."""

    def __init__(self, stack, t0):
        super().__init__(daemon=True)
        self.stack, self.t0 = stack, t0
        self.samples = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(1.0):
            row = {"t": time.time() - self.t0, "rss": {}, "ready": []}
            for p in self.stack.all_processes():
                pid = p.pid
                row["rss"][p.name] = stack_mod.rss_kib(pid) if pid else None
            row["ready"] = [stack_mod.ready(h) for h in self.stack.hosts()]
            try:
                row["backlog"], row["lag"] = verdict.outbox_progress(self.stack.db_url, QUERY_TIMEOUT)
            except (RuntimeError, ValueError, subprocess.TimeoutExpired):
                row["backlog"] = row["lag"] = None
            self.samples.append(row)


class Faults:
    """Runs the schedule; records each fault's window (seconds since start)."""

    def __init__(self, stack, tmdb, t0, scale):
        self.stack, self.tmdb, self.t0, self.scale = stack, tmdb, t0, scale
        self.windows = []
        self.lock = threading.Lock()

    def now(self):
        return time.time() - self.t0

    def sleep_until(self, at):
        delay = at - self.now()
        if delay > 0:
            time.sleep(delay)

    def inject(self, at, name, down):
        start, end_at = at * self.scale, (at + down) * self.scale
        self.sleep_until(start)
        began = self.now()
        s = self.stack
        if name == "redis":
            s.redis.kill()
            self.sleep_until(end_at)
            s.start_redis()
        elif name == "broker":
            s.broker.kill()
            self.sleep_until(end_at)
            s.start_broker()
        elif name == "consumer":
            s.consumers[0].kill()
            self.sleep_until(end_at)
            s.consumers[0].start()
        elif name == "database":
            s.stop_postgres()
            self.sleep_until(end_at)
            s.start_postgres()
        elif name == "replica":
            s.apis[1].kill()
            self.sleep_until(end_at)
            s.start_api(1)
        elif name == "tmdb":
            self.tmdb.set_mode("error")
            self.sleep_until((start + end_at) / 2)
            self.tmdb.set_mode("slow")
            self.sleep_until(end_at)
            self.tmdb.set_mode("ok")
        with self.lock:
            self.windows.append({"fault": name, "start": began, "end": self.now()})

    def run(self, only=None):
        threads = []
        for at, name, down in SCHEDULE:
            if only and name not in only:
                continue
            t = threading.Thread(target=self.inject, args=(at, name, down), daemon=True)
            t.start()
            threads.append(t)
        for t in threads:
            t.join()


class GroupWatch(threading.Thread):
    """The operator's remedy for a consumer group the broker wedged.

    tansu 0.6 (the broker here) sometimes never lets the consumer group
    back in after a restart: the consumers run, the broker serves, yet no
    member, old or new, is given partitions (a consumer in another group
    consumes at once). When events stop being applied for ``stall`` seconds
    while the broker is up, the consumers are restarted in a new group,
    which re-reads the topic from its start; their deduplication by event id
    must then apply each event exactly once, which the verdict checks.
    Each remedy is recorded in the report.
    """

    def __init__(self, stack, t0, stall):
        super().__init__(daemon=True)
        self.stack, self.t0, self.stall = stack, t0, stall
        self.remedies = []
        self.stopping = threading.Event()

    def run(self):
        last_applied, since = None, time.time()
        while not self.stopping.wait(2.0):
            try:
                query = "SELECT (SELECT count(*) FROM analytics_applied), (SELECT count(*) FROM outbox WHERE published_at IS NOT NULL) - (SELECT count(*) FROM analytics_applied)"
                applied, lag = map(int, verdict.rows(self.stack.db_url, query, QUERY_TIMEOUT)[0])
            except (RuntimeError, ValueError, subprocess.TimeoutExpired):
                continue
            if applied != last_applied or lag < 50 or not self.stack.broker.pid:
                last_applied, since = applied, time.time()
                continue
            if time.time() - since >= self.stall:
                group = f"watchme-analytics-{len(self.remedies) + 2}"
                self.remedies.append({"at": round(time.time() - self.t0, 1), "lag": lag, "new_group": group})
                for c in self.stack.consumers:
                    c.kill()
                    c.env["WATCHME_CONSUMER_GROUP"] = group
                    c.start()
                last_applied, since = None, time.time()


def drain(stack, deadline):
    """Waits until every event is published and applied; the seconds it took, or None."""
    t = time.time()
    while time.time() - t < deadline:
        try:
            if verdict.outbox_progress(stack.db_url, QUERY_TIMEOUT) == (0, 0):
                return time.time() - t
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        time.sleep(1)
    return None


def locust(args, stack, out, seconds):
    tools = os.path.dirname(sys.executable)
    env = {
        **os.environ,
        "SOAK_HOSTS": ",".join(stack.hosts()),
        "SOAK_OUT": out,
        "SOAK_THINK": args.think,
        "SOAK_MIX": args.mix,
    }
    cmd = [
        os.path.join(tools, "locust"), "-f", os.path.join(os.path.dirname(os.path.abspath(__file__)), "workload.py"),
        "--headless", "--users", str(args.users), "--spawn-rate", str(max(1, args.users // 5)),
        "--run-time", f"{int(seconds)}s", "--stop-timeout", "10", "--exit-code-on-error", "0", "--only-summary",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    log = open(os.path.join(out, "locust.log"), "ab")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=log)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tansu", required=True)
    ap.add_argument("--users", type=int, default=40)
    ap.add_argument("--think", default="0.5,2", help="think time between tasks, min,max seconds")
    ap.add_argument("--mix", default="", help="task=weight,... over workload.WEIGHTS")
    ap.add_argument("--faults", default="", help="only these faults of the schedule (comma-separated); default all")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    seconds = args.minutes * 60
    scale = seconds / 600

    tmdb = Tmdb()
    stack = stack_mod.Stack(out, os.path.abspath(args.binary), tmdb.url, args.tansu, scale)
    print(f"soak: {args.minutes:g} min, {args.users} users, report in {out}", flush=True)
    try:
        stack.start_all()
        with open(os.path.join(out, "stack.json"), "w") as f:
            json.dump({"database": stack.db_url, "redis_port": stack.redis_port, "kafka_port": stack.kafka_port, "hosts": stack.hosts()}, f)
        t0 = time.time()
        sampler = Sampler(stack, t0)
        sampler.start()
        watch = GroupWatch(stack, t0, stall=max(20, 60 * scale))
        watch.start()
        load = locust(args, stack, out, seconds)
        faults = Faults(stack, tmdb, t0, scale)
        faults.run(set(filter(None, args.faults.split(","))))
        load.wait()
        load_end = time.time() - t0
        print(f"soak: load done after {load_end:.0f} s; draining", flush=True)
        drained = drain(stack, deadline=max(60, 120 * scale))
        watch.stopping.set()
        sampler.stopping.set()
        sampler.join()
        died = {p.name: p.died() for p in stack.all_processes() if p.died() is not None}
        result = verdict.compute(
            out=out, db_url=stack.db_url, hosts=stack.hosts(), windows=faults.windows, samples=sampler.samples,
            t0=t0, seconds=seconds, drained=drained, died=died, scale=scale, tmdb_requests=tmdb.requests(),
            users=args.users, think=args.think, cooldown=stack.breaker_cooldown, remedies=watch.remedies,
        )  # fmt: skip
    finally:
        stack.stop_all()
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(result, f, indent=1)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(verdict.markdown(result))
    print(verdict.markdown(result))
    print(f"soak: {'PASSED' if result['passed'] else 'FAILED'} (report: {out}/report.md)", flush=True)
    sys.exit(0 if result["passed"] else 1)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    main()
