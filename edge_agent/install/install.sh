#!/usr/bin/env bash
# Install, upgrade or remove the loa edge agent on Raspberry Pi OS (one command, as root):
#
#   sudo ./install.sh --config agent.toml     first install (agent.toml from `broadcast device add`)
#   sudo ./install.sh                         upgrade: new code, same config, same cache and state
#   sudo ./install.sh --uninstall [--purge]   remove the service and the venv (--purge: config, state, user)
#
# Every path can be moved with an environment variable. With ROOT set, everything is written below ROOT
# and no user is created, nothing is chowned and systemctl is not called (tests, image building).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ROOT=${ROOT:-}
PREFIX=${PREFIX:-/opt/loa-agent}
CONF_DIR=${CONF_DIR:-/etc/loa-agent}
STATE_DIR=${STATE_DIR:-/var/lib/loa-agent}
UNIT_DIR=${UNIT_DIR:-/etc/systemd/system}
AGENT_USER=${AGENT_USER:-loa}
OUTPUT=${OUTPUT:-alsa}
PYTHON=${PYTHON:-python3}
SOURCE=${SOURCE:-$(cd "$here/../.." && pwd)}
# The agent's own needs; the station's (FastAPI, TTS, ...) stay off the Pi.
AGENT_REQUIREMENTS=${AGENT_REQUIREMENTS:-"paho-mqtt>=2.1,<3 cryptography>=3.4 gpiozero>=2.0"}
LOA_SKIP_PIP=${LOA_SKIP_PIP:-}   # set: create the venv, install nothing into it (tests, offline images)
LOA_SKIP_APT=${LOA_SKIP_APT:-}
UNIT=loa-agent.service

config=""
mode=install
purge=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --uninstall) mode=uninstall; shift ;;
    --purge) purge=1; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { echo ">> $*" >&2; }
die() { echo "install.sh: $*" >&2; exit 1; }
# systemctl only on a live systemd host, never into a ROOT.
use_systemd() { [ -z "$ROOT" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }
privileged() { [ -z "$ROOT" ]; }

if privileged && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo), or set ROOT to install into a directory"
fi
venv="$ROOT$PREFIX/venv"

if [ "$mode" = uninstall ]; then
  if use_systemd; then
    systemctl disable --now "$UNIT" 2>/dev/null || true
  fi
  rm -f "$ROOT$UNIT_DIR/$UNIT"
  use_systemd && systemctl daemon-reload
  rm -rf "$ROOT$PREFIX"
  if [ -n "$purge" ]; then
    rm -rf "$ROOT$CONF_DIR" "$ROOT$STATE_DIR"
    if privileged && id -u "$AGENT_USER" >/dev/null 2>&1; then userdel "$AGENT_USER" || true; fi
    say "removed the agent, its config and its state"
  else
    say "removed the agent; kept $CONF_DIR and $STATE_DIR (use --purge to remove them)"
  fi
  exit 0
fi

if [ -n "$config" ] && [ ! -f "$config" ]; then die "no such config file: $config"; fi
if [ -z "$config" ] && [ ! -f "$ROOT$CONF_DIR/agent.toml" ]; then
  die "first install needs --config agent.toml (written by \`broadcast device add\`)"
fi

if privileged && [ -z "$LOA_SKIP_APT" ] && command -v apt-get >/dev/null 2>&1; then
  say "installing system packages (python3-venv, alsa-utils, ffmpeg, snapclient, gpiozero/lgpio)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-venv alsa-utils ffmpeg snapclient
  # The Pi's GPIO library comes from Raspberry Pi OS; elsewhere gpiozero is pip-installed below.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    python3-gpiozero python3-lgpio 2>/dev/null || say "python3-lgpio not available: relay needs a GPIO library"
fi

# Debian's snapclient package enables its own daemon, which would play the station's live stream to
# the sound card by itself (relay off, outside the agent's priorities): the agent runs snapclient itself.
if use_systemd && systemctl list-unit-files snapclient.service >/dev/null 2>&1; then
  systemctl disable --now snapclient.service >/dev/null 2>&1 || true
  say "disabled the snapclient service (the agent starts snapclient for each live session)"
fi

if privileged; then
  if ! id -u "$AGENT_USER" >/dev/null 2>&1; then
    say "creating system user $AGENT_USER"
    useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
      --shell /usr/sbin/nologin "$AGENT_USER"
  fi
  for group in audio gpio; do
    if getent group "$group" >/dev/null; then usermod -a -G "$group" "$AGENT_USER"; fi
  done
fi

install -d -m 0755 "$ROOT$PREFIX" "$ROOT$UNIT_DIR"
install -d -m 0750 "$ROOT$CONF_DIR" "$ROOT$STATE_DIR"
if privileged; then
  chown root:"$AGENT_USER" "$ROOT$CONF_DIR"
  chown "$AGENT_USER":"$AGENT_USER" "$ROOT$STATE_DIR"
fi

if [ ! -x "$venv/bin/python" ]; then
  say "creating the venv in $PREFIX/venv"
  # System site packages: Raspberry Pi OS's gpiozero + lgpio (compiled for the Pi) are used as they are.
  if [ -n "$LOA_SKIP_PIP" ]; then
    "$PYTHON" -m venv --system-site-packages --without-pip "$venv"
  else
    "$PYTHON" -m venv --system-site-packages "$venv"
  fi
fi
if [ -z "$LOA_SKIP_PIP" ]; then
  say "installing the agent from $SOURCE"
  "$venv/bin/python" -m pip install -q --upgrade --no-deps "$SOURCE"
  # shellcheck disable=SC2086  # a list of requirement specifiers
  "$venv/bin/python" -m pip install -q --upgrade $AGENT_REQUIREMENTS
fi
install -m 0644 "$here/../README.md" "$ROOT$PREFIX/README.md" 2>/dev/null || true

if [ -n "$config" ]; then
  target="$ROOT$CONF_DIR/agent.toml"
  if [ -f "$target" ] && ! cmp -s "$config" "$target"; then
    cp -p "$target" "$target.bak"
    say "replaced the config; the previous one is $CONF_DIR/agent.toml.bak"
  fi
  # The config holds the device's MQTT password: readable by root and the agent only.
  install -m 0640 "$config" "$target"
  if privileged; then chown root:"$AGENT_USER" "$target"; fi
else
  say "keeping the config in $CONF_DIR/agent.toml"
fi

sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@CONF_DIR@|$CONF_DIR|g" -e "s|@STATE_DIR@|$STATE_DIR|g" \
  -e "s|@USER@|$AGENT_USER|g" -e "s|@OUTPUT@|$OUTPUT|g" "$here/$UNIT" >"$ROOT$UNIT_DIR/$UNIT.tmp"
chmod 0644 "$ROOT$UNIT_DIR/$UNIT.tmp"
mv "$ROOT$UNIT_DIR/$UNIT.tmp" "$ROOT$UNIT_DIR/$UNIT"

if use_systemd; then
  systemctl daemon-reload
  systemctl enable "$UNIT" >/dev/null
  systemctl restart "$UNIT"
  say "loa-agent is running: journalctl -u loa-agent -f"
else
  say "installed into ${ROOT:-/}; systemctl not called"
fi
