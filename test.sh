#!/usr/bin/env bash
# Lint, type-check and run the whole test suite (real Mosquitto, ffmpeg, espeak-ng, agent processes),
# first on SQLite, then again on PostgreSQL (one fresh database per test) when a server answers.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
. .venv/bin/activate
echo ">> ruff" && ruff check . && ruff format --check .
echo ">> mypy --strict" && mypy
echo ">> import layers (import-linter)" && lint-imports --no-cache
# Most tests wait on processes (Mosquitto, agents, ffmpeg), so four workers keep two cores busy (work
# stealing: a long end-to-end test drawn last does not leave three workers idle); the timing-critical
# ones (marked serial in tests/conftest.py) then run alone.
workers=${PYTEST_WORKERS:-4}
none_selected() { [ $? -eq 5 ]; }  # pytest's "no tests collected": a selection with nothing of this kind
echo ">> pytest (SQLite, $workers workers)" && pytest -q -n "$workers" --dist worksteal -m "not serial" "$@" || none_selected
echo ">> pytest (SQLite, timing-critical tests alone)" && pytest -q -m serial "$@" || none_selected

# TEST_DATABASE_SERVER (a SQLAlchemy URL without a database) points the pass at another server.
pg_host=127.0.0.1 pg_port=5432
if [ -z "${TEST_DATABASE_SERVER:-}" ] && ! (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; then
  # In CI a pass that did not run must not look green; on a laptop without a server it is a notice.
  if [ "${CI:-}" = true ] || [ "${CI:-}" = 1 ]; then
    echo ">> pytest (PostgreSQL) FAILED: CI=$CI and no PostgreSQL answers on $pg_host:$pg_port" >&2
    exit 1
  fi
  echo ">> pytest (PostgreSQL) SKIPPED: no PostgreSQL answers on $pg_host:$pg_port (in CI this fails)"
  exit 0
fi
python -c 'import psycopg' 2>/dev/null || {
  echo "PostgreSQL answers but the psycopg driver is not installed in .venv" >&2
  exit 1
}
# The PostgreSQL pass runs the suites that touch the station's database (storage, API, scheduler,
# fuzzing, the spine and workers end to end, command numbers, report ordering, presence, tenancy);
# the agent, TTS and MQTT suites never open it and already ran above. Of tests/api it leaves out the
# files whose database work is plain inserts and lookups that the kept files already run on PostgreSQL,
# and which check HTTP, forms or outside tools: cross-site refusals, form re-display, CSV cell escaping,
# the reader hint, /metrics' exposition, the live page of a station without live broadcasts, the admin
# forms, tokens, uploads (ffmpeg), the review page, device control over MQTT and drills (the alert
# workflow runs on PostgreSQL in test_alerts).
api_http_only=(test_cross_site test_web_forms test_csv_injection test_reader_hint test_metrics test_live_pages
  test_web_admin test_tokens test_bulletin_upload test_bulletin_review test_control test_alert_drills)
pg_api=()
for f in tests/api/test_*.py; do
  name=$(basename "$f" .py)
  [[ " ${api_http_only[*]} " == *" $name "* ]] || pg_api+=("$f")
done
pg_suites=(tests/storage "${pg_api[@]}" tests/scheduler tests/fuzz tests/integration/test_spine.py
  tests/integration/test_station_workers.py tests/test_commands_seq.py tests/test_reports_order.py
  tests/test_device_presence.py tests/test_tenancy_rules.py tests/test_skips.py)
[ "$#" -gt 0 ] && pg_suites=("$@")
echo ">> pytest (PostgreSQL, $workers workers)" &&
  TEST_DATABASE=postgresql pytest -q -n "$workers" --dist worksteal -m "not serial" "${pg_suites[@]}" || none_selected
echo ">> pytest (PostgreSQL, timing-critical tests alone)" &&
  TEST_DATABASE=postgresql pytest -q -m serial "${pg_suites[@]}" || none_selected
