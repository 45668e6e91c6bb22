#!/usr/bin/env bash
# Lint, type-check and run the whole test suite (real Mosquitto, ffmpeg, espeak-ng, agent processes).
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
. .venv/bin/activate
echo ">> ruff" && ruff check . && ruff format --check .
echo ">> mypy --strict" && mypy
echo ">> pytest" && pytest -q "$@"
