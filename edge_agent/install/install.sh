#!/usr/bin/env bash
# Install, upgrade or remove the loa edge agent on Raspberry Pi OS / Debian bookworm (arm64, armhf, amd64):
#
#   sudo ./install.sh --config agent.toml     first install (agent.toml from `broadcast device add`)
#   sudo ./install.sh                         upgrade: new code, same config, same cache and state
#   sudo ./install.sh --uninstall [--purge]   remove the service and the venv (--purge: config, state, user)
#
# Options: --wheel FILE (install this built loa_xa wheel instead of the source tree), --bundle DIR|FILE.tar.gz
# (offline: the .debs and wheels of `broadcast agent-bundle`; implied when run from an unpacked bundle),
# --with-relay (also apt's ffmpeg: relaying internet radio streams; clips play through mpg123).
# Every path can be moved with an environment variable. With ROOT set, everything is written below ROOT
# and no user is created, nothing is chowned and systemctl is not called (tests, image building).
# A failed run changes nothing the running agent uses: the new venv is built beside the old one and
# switched in at the end; the same command run again resumes.
set -Eeuo pipefail

here=$(cd "$(dirname "$0")" && pwd)
ROOT=${ROOT:-}
PREFIX=${PREFIX:-/opt/loa-agent}
CONF_DIR=${CONF_DIR:-/etc/loa-agent}
STATE_DIR=${STATE_DIR:-/var/lib/loa-agent}
UNIT_DIR=${UNIT_DIR:-/etc/systemd/system}
AGENT_USER=${AGENT_USER:-loa}
OUTPUT=${OUTPUT:-alsa}
PYTHON=${PYTHON:-python3}
SOURCE=${SOURCE:-$(cd "$here/../.." 2>/dev/null && pwd)}
LOA_SKIP_PIP=${LOA_SKIP_PIP:-}   # set: create the venv, install nothing into it (tests)
LOA_SKIP_APT=${LOA_SKIP_APT:-}   # set: no apt-get / dpkg (tests, a machine prepared by other means)
# LOA_KEEP_PIP=1 keeps pip and setuptools in the venv (removed by default: the agent never uses them)
UNIT=loa-agent.service
# What playback needs from Debian: the venv, Ed25519 (PyPI has no armv7l wheel of cryptography's cffi),
# aplay, the MP3 decoder, live sessions. GPIO comes in a separate step that may fail (plain Debian).
APT_PACKAGES=(python3-venv python3-cryptography alsa-utils mpg123 snapclient)
APT_GPIO=(python3-gpiozero python3-lgpio)

config=""
mode=install
purge=""
wheel=""
bundle=""
with_relay=""
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --wheel) wheel=${2:?--wheel needs a file}; shift 2 ;;
    --bundle) bundle=${2:?--bundle needs a directory or a .tar.gz}; shift 2 ;;
    --with-relay) with_relay=1; shift ;;
    --uninstall) mode=uninstall; shift ;;
    --purge) purge=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

say() { echo ">> $*" >&2; }
die() { echo "install.sh: $*" >&2; exit 1; }
step="starting"
on_error() {
  local status=$?
  echo "install.sh: FAILED while $step (exit $status)." >&2
  echo "install.sh: the running agent, its venv, config and state are unchanged; fix the cause and run the" >&2
  echo "install.sh: same command again: it resumes (finished steps are skipped or redone harmlessly)." >&2
  exit "$status"
}
trap on_error ERR
temporary=()   # removed on exit, whatever happens
trap 'rm -rf "${temporary[@]}"' EXIT
# systemctl only on a live systemd host, never into a ROOT.
use_systemd() { [ -z "$ROOT" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; }
privileged() { [ -z "$ROOT" ]; }

if privileged && [ "$(id -u)" -ne 0 ]; then
  die "run as root (sudo), or set ROOT to install into a directory"
fi
venv_link="$ROOT$PREFIX/venv"   # a symlink to venvs/<id>: the unit's paths never change
venvs="$ROOT$PREFIX/venvs"

if [ "$mode" = uninstall ]; then
  if use_systemd; then
    systemctl disable --now "$UNIT" 2>/dev/null || true
  fi
  rm -f "$ROOT$UNIT_DIR/$UNIT"
  if use_systemd; then systemctl daemon-reload; fi
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

# An unpacked bundle carries its manifest beside this script: offline install from it.
if [ -z "$bundle" ] && [ -f "$here/bundle.json" ]; then bundle=$here; fi
if [ -n "$bundle" ]; then
  if [ -f "$bundle" ]; then
    step="unpacking the bundle $bundle"
    unpacked=$(mktemp -d "${TMPDIR:-/tmp}/loa-bundle.XXXXXX")
    temporary+=("$unpacked")
    tar -xzf "$bundle" -C "$unpacked"
    bundle=$(dirname "$(find "$unpacked" -maxdepth 2 -name bundle.json | head -n1)")
  fi
  [ -f "$bundle/bundle.json" ] || die "not an agent bundle (no bundle.json): $bundle"
  bundle=$(cd "$bundle" && pwd)
  step="checking the bundle's files (SHA256SUMS)"
  (cd "$bundle" && sha256sum --quiet --strict -c SHA256SUMS) || die "the bundle is damaged: copy it again"
  if [ -z "$config" ] && [ -f "$bundle/agent.toml" ]; then config="$bundle/agent.toml"; fi
fi

if [ -n "$config" ] && [ ! -f "$config" ]; then die "no such config file: $config"; fi
if [ -z "$config" ] && [ ! -f "$ROOT$CONF_DIR/agent.toml" ]; then
  die "first install needs --config agent.toml (written by \`broadcast device add\`)"
fi
if [ -n "$wheel" ] && [ ! -f "$wheel" ]; then die "no such wheel: $wheel"; fi

apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -y -qq -o Dpkg::Use-Pty=0 "$@"; }

if privileged && [ -z "$LOA_SKIP_APT" ]; then
  if [ -n "$bundle" ]; then
    if [ -f "$bundle/debs/Packages" ]; then
      step="installing the bundle's Debian packages (offline)"
      # The bundle's debs/ is a flat repository and the only source apt sees for this run (its usual lists
      # hidden): apt installs what this system lacks, resolving against what it has, and changes nothing
      # when a dependency is missing.
      repo=$(mktemp -d "${TMPDIR:-/tmp}/loa-apt.XXXXXX")
      temporary+=("$repo")
      mkdir -p "$repo/lists/partial" "$repo/parts"
      echo "deb [trusted=yes] file:$bundle/debs ./" >"$repo/sources.list"
      local_apt=(-o Dir::Etc::SourceList="$repo/sources.list" -o Dir::Etc::SourceParts="$repo/parts"
        -o Dir::State::Lists="$repo/lists" -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
        -o APT::Sandbox::User=root)  # the bundle may sit where apt's _apt user cannot read
      mapfile -t wanted <"$bundle/apt-packages"
      say "installing from the bundle's Debian packages: ${wanted[*]}"
      apt_get "${local_apt[@]}" update
      apt_get "${local_apt[@]}" install --no-install-recommends "${wanted[@]}"
      apt_get clean
    fi
  elif command -v apt-get >/dev/null 2>&1; then
    step="installing system packages (apt-get)"
    packages=("${APT_PACKAGES[@]}")
    if [ -n "$with_relay" ]; then packages+=(ffmpeg); fi
    say "installing system packages: ${packages[*]}"
    apt_get update
    apt_get install --no-install-recommends "${packages[@]}"
    # Raspberry Pi OS has both (lgpio drives the Pi 5's GPIO); plain Debian has no python3-lgpio, and then
    # neither is installed here: pip installs gpiozero into the venv.
    step="installing the GPIO library (optional)"
    apt_get install --no-install-recommends "${APT_GPIO[@]}" 2>/dev/null ||
      say "python3-lgpio not available (plain Debian): gpiozero comes from pip, with its own pin drivers"
    # The package lists (about 80 MB) go too, as in container images: the next apt use runs update.
    apt_get clean
    rm -rf /var/lib/apt/lists/*
  fi
fi

# Debian's snapclient package enables its own daemon, which would play the station's live stream to
# the sound card by itself (relay off, outside the agent's priorities): the agent runs snapclient itself.
if use_systemd && systemctl list-unit-files snapclient.service >/dev/null 2>&1; then
  systemctl disable --now snapclient.service >/dev/null 2>&1 || true
  say "disabled the snapclient service (the agent starts snapclient for each live session)"
fi

step="creating the user and the directories"
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
install -d -m 0755 "$ROOT$PREFIX" "$venvs" "$ROOT$UNIT_DIR"
install -d -m 0750 "$ROOT$CONF_DIR" "$ROOT$STATE_DIR"
if privileged; then
  chown root:"$AGENT_USER" "$ROOT$CONF_DIR"
  chown "$AGENT_USER":"$AGENT_USER" "$ROOT$STATE_DIR"
fi

# The new venv beside the running one; a venv left by a failed run is not in use: remove it.
current=$(readlink "$venv_link" 2>/dev/null || true)
for old in "$venvs"/*; do
  [ -e "$old" ] || continue
  if [ "venvs/$(basename "$old")" != "$current" ]; then rm -rf "$old"; fi
done
id="$(date -u +%Y%m%d%H%M%S)-$$"
new="$venvs/$id"
step="creating the venv $PREFIX/venvs/$id"
say "creating the venv $PREFIX/venvs/$id"
# System site packages: Debian's python3-cryptography (and Raspberry Pi OS's gpiozero + lgpio, compiled
# for the Pi) are used as they are; pip adds only what they do not satisfy.
if [ -n "$LOA_SKIP_PIP" ]; then
  "$PYTHON" -m venv --system-site-packages --without-pip "$new"
else
  "$PYTHON" -m venv --system-site-packages "$new"
  pip=("$new/bin/python" -m pip install -q --no-cache-dir --disable-pip-version-check)
  if [ -n "$bundle" ]; then
    step="installing the agent from the bundle's wheels (offline)"
    project=$(find "$bundle/wheels" -maxdepth 1 -name 'loa_xa-*.whl' | head -n1)
    [ -n "$project" ] || die "the bundle has no loa_xa wheel"
    say "installing the agent from $(basename "$project") (no network)"
    "${pip[@]}" --no-index --find-links "$bundle/wheels" "$project[agent]"
  else
    target=${wheel:-$SOURCE}
    step="installing the agent from $target (pip)"
    say "installing the agent from $target"
    # No --upgrade: what the system site packages already satisfy (cryptography) stays as it is.
    "${pip[@]}" "$target[agent]"
  fi
  if [ -z "${LOA_KEEP_PIP:-}" ]; then
    # Nothing at run time needs them (half the venv on an SD card); an upgrade builds a new venv anyway.
    step="removing pip and setuptools from the new venv"
    "$new/bin/python" -m pip uninstall -y -q setuptools pip
  fi
  step="checking the new venv"
  "$new/bin/python" -c 'import edge_agent.cli, broadcast.protocol.keys, paho.mqtt.client
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey'
  "$new/bin/edge-agent" --help >/dev/null
fi
readme="$here/README.md"
[ -f "$readme" ] || readme="$here/../README.md"
install -m 0644 "$readme" "$ROOT$PREFIX/README.md" 2>/dev/null || true

step="writing the config"
if [ -n "$config" ]; then
  target="$ROOT$CONF_DIR/agent.toml"
  if [ -f "$target" ] && ! cmp -s "$config" "$target"; then
    cp -p "$target" "$target.bak"
    say "replaced the config; the previous one is $CONF_DIR/agent.toml.bak"
  fi
  # The config holds the device's MQTT password: readable by root and the agent only.
  install -m 0640 "$config" "$target.tmp"
  if privileged; then chown root:"$AGENT_USER" "$target.tmp"; fi
  mv "$target.tmp" "$target"
else
  say "keeping the config in $CONF_DIR/agent.toml"
fi

step="writing the systemd unit"
sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@CONF_DIR@|$CONF_DIR|g" -e "s|@STATE_DIR@|$STATE_DIR|g" \
  -e "s|@USER@|$AGENT_USER|g" -e "s|@OUTPUT@|$OUTPUT|g" "$here/$UNIT" >"$ROOT$UNIT_DIR/$UNIT.tmp"
chmod 0644 "$ROOT$UNIT_DIR/$UNIT.tmp"
mv "$ROOT$UNIT_DIR/$UNIT.tmp" "$ROOT$UNIT_DIR/$UNIT"

step="switching to the new venv"
if [ -d "$venv_link" ] && [ ! -L "$venv_link" ]; then
  # An install from before venvs/: its venv is replaced by the link (its scripts point at this path).
  rm -rf "$venv_link.old"
  mv "$venv_link" "$venv_link.old"
fi
ln -sfn "venvs/$id" "$venv_link.tmp"
mv -T "$venv_link.tmp" "$venv_link"
rm -rf "$venv_link.old"

if use_systemd; then
  step="restarting the service"
  systemctl daemon-reload
  systemctl enable "$UNIT" >/dev/null
  systemctl restart "$UNIT"
  say "loa-agent is running: journalctl -u loa-agent -f"
else
  say "installed into ${ROOT:-/}; systemctl not called"
fi
step="removing the previous venv"
if [ -n "$current" ] && [ "$current" != "venvs/$id" ]; then rm -rf "$ROOT$PREFIX/$current"; fi
say "done: $PREFIX/venv -> venvs/$id"
