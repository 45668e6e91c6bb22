#!/usr/bin/env bash
# Make this checkout runnable: Mosquitto (Debian, only if missing), .venv, the project and its dev tools.
# ffmpeg and espeak-ng come as Python wheels (imageio-ffmpeg, espeakng-loader), so no apt for them.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages no wheel provides: the broker, Snapcast (server and client: live broadcasts), systemd-analyze (the agent's unit is verified with it),
# libfaketime (.ci/run replays the scheduling tests at night in Vietnam), and Chromium + its driver for the
# browser tests.
missing=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v snapserver >/dev/null 2>&1 || missing+=(snapserver)
command -v snapclient >/dev/null 2>&1 || missing+=(snapclient)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v faketime >/dev/null 2>&1 || missing+=(faketime)
command -v mpg123 >/dev/null 2>&1 || missing+=(mpg123)  # the agent's clip decoder (tests/edge_agent/test_agent_mpg123.py)
if [ "${BOOTSTRAP_BROWSER:-1}" = 1 ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  [ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo ">> installing from Debian packages: ${missing[*]}" >&2
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is needed (found $("$python" --version 2>&1))." >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv

stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  echo ">> installing Python packages into .venv (first run takes a minute)" >&2
  .venv/bin/python -m pip install -q --upgrade pip
  # dev = the station's and the agent's extras (pyproject.toml) plus the test and lint tools.
  .venv/bin/python -m pip install -q -e ".[dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi
