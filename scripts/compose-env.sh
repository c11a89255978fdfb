#!/usr/bin/env bash
# Writes the compose stack's .env (git-ignored) with a SEED_TOKEN made here, never committed, and
# turns /seed and /records on (docs/deploy.md, "Local stack: docker compose"). Without it the stack runs
# with seeding off. An .env that already has a SEED_TOKEN is left as it is. Prints the token's
# variable name only; read the token from .env.
set -euo pipefail
cd "$(dirname "$0")/.."

env_file="${1:-.env}"
if [[ -f "$env_file" ]] && grep -q '^SEED_TOKEN=.' "$env_file"; then
  echo "$env_file already has a SEED_TOKEN; left as it is"
  exit 0
fi
token="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
umask 077
{
  echo '# Made by scripts/compose-env.sh; git-ignored. docker compose reads it.'
  echo 'SEED_ENABLED=true'
  echo "SEED_TOKEN=$token"
} >>"$env_file"
echo "wrote SEED_ENABLED and SEED_TOKEN to $env_file: curl -H \"authorization: Bearer \$(sed -n 's/^SEED_TOKEN=//p' $env_file)\" ..."
