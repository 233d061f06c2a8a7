#!/usr/bin/env bash
# Debian packages the test suite drives for real: dig (dnsutils) against the DNS bridge, and
# Chromium against the gateway. Installs what is missing when run as root; otherwise says how.
set -euo pipefail
missing=()
command -v dig >/dev/null 2>&1 || missing+=(dnsutils)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "keynet: tests need the Debian packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 0
fi
echo "keynet: installing Debian packages for the tests: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
  || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
