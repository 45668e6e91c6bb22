#!/usr/bin/env bash
# Start the station on its embedded defaults (SQLite, managed Mosquitto, espeak-ng) plus a demo agent.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/broadcast quickstart "$@"
