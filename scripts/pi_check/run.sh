#!/usr/bin/env bash
# The agent on arm64 and armhf Debian bookworm roots under qemu-user: install (online and offline),
# play a scheduled bulletin against a real station on this machine, measure. Takes many minutes.
#
#   sudo scripts/pi_check/run.sh                      both arches, online + offline, sizes
#   sudo scripts/pi_check/run.sh --arch armhf --mode online --no-sizes
#
# Roots are cached in /var/tmp/loa-pi (LOA_PI_CACHE); logs in its logs/; the report in
# bench/results/pi_check.json. See scripts/pi_check/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

if [ "$(id -u)" -ne 0 ]; then echo "pi_check: run as root (chroot, mount, unshare)" >&2; exit 2; fi

missing=()
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v qemu-aarch64-static >/dev/null || missing+=(qemu-user-static)
command -v unshare >/dev/null || missing+=(util-linux)
command -v systemd-analyze >/dev/null || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
  echo "pi_check: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# qemu-user-static's binfmt handlers (flag F: the interpreter is opened now, so it works inside a chroot).
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
for arch in aarch64 arm; do
  if [ ! -e "/proc/sys/fs/binfmt_misc/qemu-$arch" ]; then
    if command -v update-binfmts >/dev/null; then update-binfmts --enable "qemu-$arch" || true; fi
  fi
  if [ ! -e "/proc/sys/fs/binfmt_misc/qemu-$arch" ]; then
    conf=/usr/lib/binfmt.d/qemu-$arch.conf
    [ -f "$conf" ] || { echo "pi_check: no binfmt handler for $arch ($conf missing)" >&2; exit 1; }
    grep -v '^#' "$conf" > /proc/sys/fs/binfmt_misc/register
  fi
done

python=${PYTHON:-$repo/.venv/bin/python}
exec "$python" "$here/check.py" "$@"
