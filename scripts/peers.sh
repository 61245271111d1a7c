#!/usr/bin/env bash
# Installs the peers that test suites drive, when they are missing: Debian's
# chromium (tests/browser.test.ts) and redis-server (the Redis suites, the
# Redis docs page, the Redis benchmark). Run by .ci/run and by `pnpm test`.
# Uses apt-get, as root or through sudo. When it cannot install, it says so and
# the tests that need the peer fail (they never skip).
set -uo pipefail
missing=()
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || missing+=(chromium)
command -v "${REDIS_SERVER:-redis-server}" >/dev/null 2>&1 || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0

fail() {
  echo "peers: cannot install ${missing[*]}: $1; the tests that need them will fail" >&2
  exit 0
}
command -v apt-get >/dev/null 2>&1 || fail "no apt-get here (install them by hand)"
sudo=()
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "not root and no sudo"
  sudo=(sudo)
fi
echo "peers: installing ${missing[*]} with apt-get" >&2
"${sudo[@]}" apt-get update -qq || fail "apt-get update failed"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
  || fail "apt-get install failed"
