#!/usr/bin/env bash
# Makes sure what the test suite talks to is installed and running:
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) with its client
# tools (pg_dump/pg_restore for the backup tests), and Redis on
# 127.0.0.1:6379 with redis-server on the PATH (the outage tests start their
# own on a spare port), and a Kafka-protocol broker (tansu) on
# 127.0.0.1:9092, built once by scripts/install-broker.sh, keeping its
# messages in memory (the tests that stop a broker start their own, on
# SQLite, on spare ports). Fast when all is there.
set -euo pipefail

need_apt=()
command -v pg_dump >/dev/null || need_apt+=(postgresql-client)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
# librdkafka is built with OpenSSL (TLS and SASL SCRAM to managed brokers).
dpkg -s libssl-dev >/dev/null 2>&1 || need_apt+=(libssl-dev pkg-config)
# socat puts TLS in front of the broker in tests/managed_tls.rs (tansu 0.6
# cannot terminate TLS itself).
command -v socat >/dev/null || need_apt+=(socat)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]}"
  apt-get install -y "${need_apt[@]}" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y "${need_apt[@]}" >/dev/null; }
fi

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "PostgreSQL is not answering on 127.0.0.1:5432; starting it"
  if [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select version()' | head -1

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Redis is not answering on 127.0.0.1:6379; starting it"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
echo "redis: $(redis-cli -h 127.0.0.1 -p 6379 ping)"

scripts_dir="$(cd "$(dirname "$0")" && pwd)"
"$scripts_dir/install-broker.sh"
broker_up() { (exec 3<>/dev/tcp/127.0.0.1/9092) 2>/dev/null; }
if ! broker_up; then
  echo "no Kafka-protocol broker on 127.0.0.1:9092; starting tansu"
  dir="${WATCHME_BROKER_DIR:-/var/tmp/watchme-broker}"
  mkdir -p "$dir"
  nohup "${CARGO_HOME:-$HOME/.cargo}/bin/tansu" broker \
    --listener-url tcp://127.0.0.1:9092 --advertised-listener-url tcp://127.0.0.1:9092 \
    --storage-engine memory://tansu/ >"$dir/tansu.log" 2>&1 &
  for _ in $(seq 1 100); do broker_up && break; sleep 0.1; done
fi
broker_up && echo "kafka: tansu answering on 127.0.0.1:9092" || { echo "tansu did not start; see ${WATCHME_BROKER_DIR:-/var/tmp/watchme-broker}/tansu.log"; exit 1; }
