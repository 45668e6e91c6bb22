#!/usr/bin/env bash
# Start the station on its embedded defaults (SQLite, managed Mosquitto, espeak-ng) plus a demo agent.
set -euo pipefail
cd "$(dirname "$0")"
BOOTSTRAP_BROWSER=0 scripts/bootstrap.sh  # the browser is only for the test suite
exec .venv/bin/broadcast quickstart "$@"
