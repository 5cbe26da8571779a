#!/bin/sh
# Installs the Debian packages the tests use (listed in .ci/packages) when one is missing.
# Run by `npm test` (pretest) and by .ci/run; a no-op once they are there. Without root or
# apt-get it only says what is missing (the tests that need it then fail and say so).
cd "$(dirname "$0")" || exit 0
[ -f packages ] || exit 0
command -v dpkg >/dev/null 2>&1 || exit 0 # not a Debian system: nothing to say about its packages
missing=$(tr -d '\r' < packages | while read -r p || [ -n "$p" ]; do [ -n "$p" ] && [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != 'install ok installed' ] && echo "$p"; done)
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "[setup] installing Debian packages the tests use: $missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null \
    || echo "[setup] could not install: $missing"
else
  echo "[setup] missing Debian packages the tests use: $missing (apt-get install $missing)"
fi
exit 0
