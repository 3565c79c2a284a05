#!/usr/bin/env bash
# Installs the Python tools the OpenAPI tests drive (and, through
# tests/trakt/install.sh, the Trakt client libraries), into a virtualenv of
# their own outside the clone (so a fresh clone reuses it):
# schemathesis (property-based conformance of /openapi.json),
# openapi-python-client (a client generated from the spec) and
# kubernetes-validate (the Kubernetes schemas, offline, for deploy/k8s),
# locust (the soak test's load, scripts/soak.sh);
# plus the Debian packages that check deploy/ (docker-compose renders the
# compose file, prometheus brings promtool). Pinned
# versions; a venv that already has them is reused in milliseconds, a fresh
# one takes about 20 s. The tests find it at $WATCHME_TEST_TOOLS_DIR
# (default ~/.cache/watchme-test-tools).
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5
OPENAPI_PYTHON_CLIENT_VERSION=0.29.1
KUBERNETES_VALIDATE_VERSION=1.37.0
LOCUST_VERSION=2.47.0
dir="${WATCHME_TEST_TOOLS_DIR:-$HOME/.cache/watchme-test-tools}"
stamp="$dir/installed"
want="schemathesis==$SCHEMATHESIS_VERSION openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION kubernetes-validate==$KUBERNETES_VALIDATE_VERSION locust==$LOCUST_VERSION"

# tests/deploy.rs: compose rendering, promtool; kubectl (for its built-in
# kustomize) comes with this kind of machine.
need_apt=()
command -v docker-compose >/dev/null || need_apt+=(docker-compose)
command -v promtool >/dev/null || need_apt+=(prometheus)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "test tools: installing ${need_apt[*]} (Debian)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need_apt[@]}" >/dev/null 2>&1 ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need_apt[@]}" >/dev/null; }
fi
command -v kubectl >/dev/null || { echo "kubectl (with kustomize) is needed by tests/deploy.rs: install it from your Kubernetes vendor's packages"; exit 1; }

# The real Trakt clients the Trakt-compatible API is tested with (pytrakt
# and the npm trakt.tv), under the test's own folder.
"$(dirname "$0")/../tests/trakt/install.sh"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$dir/venv/bin/schemathesis" ]; then
  echo "test tools: $want already in $dir/venv"
  exit 0
fi

python="$(command -v python3 || true)"
[ -n "$python" ] || { echo "python3 is needed for the OpenAPI tests (apt-get install python3 python3-venv)"; exit 1; }
echo "test tools: installing $want into $dir/venv (about 20 s)"
rm -rf "$dir/venv"
mkdir -p "$dir"
"$python" -m venv "$dir/venv" || {
  apt-get install -y python3-venv >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y python3-venv >/dev/null; }
  "$python" -m venv "$dir/venv"
}
# shellcheck disable=SC2086
"$dir/venv/bin/pip" install --quiet --disable-pip-version-check $want
echo "$want" >"$stamp"
"$dir/venv/bin/schemathesis" --version
