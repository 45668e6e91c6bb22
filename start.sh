#!/usr/bin/env bash
# Start the station on its embedded defaults (SQLite, managed Mosquitto, espeak-ng) plus a demo agent;
# with internet, `broadcast quickstart` first installs a natural Vietnamese voice (at most 60 s) and reads
# with it. BROADCAST_SKIP_VOICE_INSTALL=1 ./start.sh skips that download.
set -euo pipefail
cd "$(dirname "$0")"
BOOTSTRAP_BROWSER=0 scripts/bootstrap.sh  # the browser is only for the test suite
exec .venv/bin/broadcast quickstart "$@"
