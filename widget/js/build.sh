#!/usr/bin/env bash
# Rebuilds the widget's script, widget/static/v1/ringproof.js, from src/
# with the esbuild and libphonenumber-js versions locked in
# package-lock.json. The output is committed, so that CI and `go run` need
# no npm: run this after changing src/ and commit both.
#
#   bash widget/js/build.sh           rebuild
#   bash widget/js/build.sh --check   fail if the committed script is not
#                                     what the sources build to
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error
if [ "${1:-}" = "--check" ]; then
  out="$(mktemp)"
  trap 'rm -f "$out"' EXIT
  node build.mjs "$out"
  if ! cmp -s "$out" ../static/v1/ringproof.js; then
    echo "widget/static/v1/ringproof.js is not what widget/js/src builds to: run bash widget/js/build.sh and commit it" >&2
    exit 1
  fi
  echo "widget/static/v1/ringproof.js matches its sources"
else
  node build.mjs
  echo "built widget/static/v1/ringproof.js; update the integrity hash in docs/widget.md (go test ./widget says the new one)"
fi
