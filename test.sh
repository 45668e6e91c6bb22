#!/usr/bin/env bash
# Lint, type-check and run the whole test suite (real Mosquitto, ffmpeg, espeak-ng, agent processes),
# first on SQLite, then again on PostgreSQL (one fresh database per test) when a server answers.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
. .venv/bin/activate
echo ">> ruff" && ruff check . && ruff format --check .
echo ">> mypy --strict" && mypy
echo ">> pytest (SQLite)" && pytest -q "$@"

# TEST_DATABASE_SERVER (a SQLAlchemy URL without a database) points the pass at another server.
pg_host=127.0.0.1 pg_port=5432
if [ -z "${TEST_DATABASE_SERVER:-}" ] && ! (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; then
  echo ">> pytest (PostgreSQL) SKIPPED: no PostgreSQL answers on $pg_host:$pg_port"
  exit 0
fi
python -c 'import psycopg' 2>/dev/null || {
  echo "PostgreSQL answers but the psycopg driver is not installed in .venv" >&2
  exit 1
}
# The PostgreSQL pass runs the suites that touch the station's database (storage, API, scheduler,
# the spine end to end); the agent, TTS and MQTT suites never open it and already ran above.
pg_suites=(tests/storage tests/api tests/scheduler tests/integration/test_spine.py)
[ "$#" -gt 0 ] && pg_suites=("$@")
echo ">> pytest (PostgreSQL)" && TEST_DATABASE=postgresql pytest -q "${pg_suites[@]}"
