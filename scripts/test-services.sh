#!/usr/bin/env bash
# Makes sure what the test suite talks to is installed and running:
# PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth) and its client
# tools (pg_dump/pg_restore for the backup tests). Fast when all is there.
set -euo pipefail

need_apt=()
command -v pg_dump >/dev/null || need_apt+=(postgresql-client)
command -v pg_isready >/dev/null || need_apt+=(postgresql-client)
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
