"""The soak's topology as real processes on this machine.

A PostgreSQL cluster of its own (initdb into the run's folder, as the
``postgres`` user, on a spare port, so restarting it disturbs nothing
else), a Redis, a Kafka-protocol broker (tansu, messages in a SQLite file
that outlives a kill), two API replicas (``watchme serve``), one relay
(``watchme relay``) and two analytics consumers (``watchme consume``). Each
can be killed and started again; every process writes its log to the run's
folder.
"""

import glob
import os
import pwd
import signal
import socket
import shutil
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, what, deadline=30):
    end = time.time() + deadline
    while time.time() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {deadline} s")


def pg_bin(name):
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (scripts/test-services.sh)")
    return found[-1]


def rss_kib(pid):
    """Resident memory of a process in KiB, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Process:
    """One named process, started from argv with env, its output in a log."""

    def __init__(self, name, argv, env, out, as_postgres=False):
        self.name, self.argv, self.env, self.out = name, argv, env, out
        self.as_postgres = as_postgres
        self.popen = None
        self.starts = 0

    def start(self):
        self.starts += 1
        log = open(os.path.join(self.out, f"{self.name}.log"), "ab")
        log.write(f"\n==== start {self.starts} at {time.time():.3f}\n".encode())
        log.flush()
        pre = None
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")

            def pre():
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)

        self.popen = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=pre)
        return self

    @property
    def pid(self):
        return self.popen.pid if self.popen and self.popen.poll() is None else None

    def kill(self, sig=signal.SIGKILL):
        if self.popen and self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def died(self):
        """The exit code if it exited by itself (not killed by us), else None."""
        return self.popen.poll() if self.popen else None


class Stack:
    """Every process of the run; ``env`` is what each WatchMe process gets."""

    def __init__(self, out, binary, tmdb_url, tansu, scale):
        self.out, self.binary, self.tansu = out, binary, tansu
        self.pg_port, self.redis_port, self.kafka_port = free_port(), free_port(), free_port()
        self.breaker_cooldown = max(1, round(10 * min(1.0, scale)))
        self.api_ports = [free_port(), free_port()]
        # Outside the run's folder, which the postgres user may not reach.
        self.pgdata = os.path.join(tempfile.mkdtemp(prefix="watchme-soak-pg-"), "data")
        self.db_url = f"postgres://postgres@127.0.0.1:{self.pg_port}/postgres"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "WATCHME_DATABASE_URL": self.db_url,
            "WATCHME_DB_MAX_CONNECTIONS": "10",
            "WATCHME_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}",
            "WATCHME_KAFKA_BROKERS": f"127.0.0.1:{self.kafka_port}",
            "WATCHME_KAFKA_PARTITIONS": "4",
            "WATCHME_KAFKA_DELIVERY_TIMEOUT_MS": "5000",
            "WATCHME_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "WATCHME_KAFKA_MAX_POLL_INTERVAL_MS": "15000",
            "WATCHME_TMDB_API_KEY": "soak",
            "WATCHME_TMDB_BASE_URL": tmdb_url,
            "WATCHME_TMDB_TIMEOUT_MS": "2000",
            "WATCHME_TMDB_RATE_LIMIT": "1000",
            # The default 10 s, shortened with the rest of a short run.
            "WATCHME_TMDB_BREAKER_COOLDOWN_SECS": str(self.breaker_cooldown),
            "WATCHME_JWT_SECRET": "soak-shared-secret-of-both-replicas-0123456789",
            "WATCHME_RELAY": "false",
            "WATCHME_OUTBOX_RETENTION_HOURS": "24",
            "WATCHME_AUTO_MIGRATE": "false",
            "WATCHME_LOG_FORMAT": "json",
            "WATCHME_LOG": "warn",
            # Every virtual user comes from 127.0.0.1: the per-IP limits
            # are lifted, the per-user and per-account ones stay.
            "WATCHME_RATE_ANONYMOUS": "1000000/60",
            "WATCHME_RATE_AUTH_IP": "1000000/60",
        }
        for key in ("WATCHME_ARGON2_MEMORY_KIB", "WATCHME_ARGON2_ITERATIONS"):
            if key in os.environ:
                self.env[key] = os.environ[key]
        self.postgres = Process("postgres", [pg_bin("postgres"), "-D", self.pgdata, "-p", str(self.pg_port), "-k", self.pgdata, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100"], {}, out, as_postgres=True)
        self.redis = Process("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {}, out)
        kafka_url = f"tcp://127.0.0.1:{self.kafka_port}"
        self.broker = Process("broker", [tansu, "broker", "--listener-url", kafka_url, "--advertised-listener-url", kafka_url, "--storage-engine", f"sqlite:///{os.path.join(out, 'tansu.db')}"], {"PATH": self.env["PATH"]}, out)
        self.apis = [self.watchme(f"api-{i + 1}", ["serve"], {"WATCHME_BIND": f"127.0.0.1:{port}"}) for i, port in enumerate(self.api_ports)]
        self.relay = self.watchme("relay", ["relay"], {})
        self.consumers = [self.watchme(f"consumer-{i + 1}", ["consume"], {}) for i in range(2)]

    def watchme(self, name, args, extra):
        return Process(name, [self.binary, *args], {**self.env, **extra}, self.out)

    def watchme_processes(self):
        return [*self.apis, self.relay, *self.consumers]

    def all_processes(self):
        return [self.postgres, self.redis, self.broker, *self.watchme_processes()]

    def hosts(self):
        return [f"http://127.0.0.1:{p}" for p in self.api_ports]

    def init_database(self):
        pw = pwd.getpwnam("postgres")
        os.makedirs(self.pgdata)
        os.chown(self.pgdata, pw.pw_uid, pw.pw_gid)
        os.chown(os.path.dirname(self.pgdata), pw.pw_uid, pw.pw_gid)
        Process("initdb", [pg_bin("initdb"), "-D", self.pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8"], {}, self.out, as_postgres=True).start().popen.wait()

    def start_postgres(self):
        self.postgres.start()
        wait_port(self.pg_port, "PostgreSQL")
        end = time.time() + 30
        while subprocess.run([pg_bin("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.pg_port)]).returncode != 0:
            if time.time() > end:
                raise RuntimeError("PostgreSQL did not become ready")
            time.sleep(0.1)

    def stop_postgres(self):
        # SIGINT is PostgreSQL's fast shutdown, what a restart does.
        self.postgres.kill(signal.SIGINT)

    def start_redis(self):
        self.redis.start()
        wait_port(self.redis_port, "Redis")

    def start_broker(self):
        self.broker.start()
        wait_port(self.kafka_port, "the broker")

    def start_api(self, i):
        self.apis[i].start()
        self.wait_ready(i)

    def wait_ready(self, i, deadline=60):
        end = time.time() + deadline
        while time.time() < end:
            if ready(self.hosts()[i]):
                return
            time.sleep(0.1)
        raise RuntimeError(f"api-{i + 1} was not ready within {deadline} s")

    def start_all(self):
        self.init_database()
        self.start_postgres()
        self.start_redis()
        self.start_broker()
        migrate = Process("migrate", [self.binary, "migrate"], self.env, self.out).start()
        if migrate.popen.wait() != 0:
            raise RuntimeError("watchme migrate failed (see migrate.log)")
        for i in range(len(self.apis)):
            self.start_api(i)
        self.relay.start()
        for c in self.consumers:
            c.start()

    def stop_all(self):
        for p in reversed(self.all_processes()):
            p.kill(signal.SIGINT if p is self.postgres else signal.SIGTERM)
        shutil.rmtree(os.path.dirname(self.pgdata), ignore_errors=True)


def ready(base):
    try:
        # The load balancer's view: deploy/k8s gives the probe 3 s.
        with urllib.request.urlopen(f"{base}/health/ready", timeout=3) as r:
            return r.status == 200
    except OSError:
        return False
