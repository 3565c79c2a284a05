#!/usr/bin/env bash
# Makes the compose stack's secrets once: an Ed25519 key pair signing the
# access tokens (./secrets, mounted as files) and a random database
# password (./.env, read by docker compose). Neither is committed (see
# .gitignore) nor put into the image. Run it again with --force to rotate.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p secrets
if [ "${1:-}" = "--force" ] || [ ! -f secrets/jwt_private_key.pem ]; then
  openssl genpkey -algorithm ed25519 -out secrets/jwt_private_key.pem
  openssl pkey -in secrets/jwt_private_key.pem -pubout -out secrets/jwt_public_key.pem
  chmod 644 secrets/*.pem  # read by the image's non-root user through the secret mount
fi
if [ "${1:-}" = "--force" ] || ! grep -q '^POSTGRES_PASSWORD=' .env 2>/dev/null; then
  echo "POSTGRES_PASSWORD=$(openssl rand -hex 24)" > .env
fi
echo "secrets ready: deploy/compose/secrets/, deploy/compose/.env"
