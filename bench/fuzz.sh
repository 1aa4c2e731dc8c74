#!/usr/bin/env bash
# Runs every fuzz target of the module in turn, each for DURATION (default
# 60s; Go's -fuzztime syntax: 3s, 2m, or 5000x for a number of inputs), and
# prints, for each, the inputs it ran per second and whether it found a
# failing input. A failing input is kept where `go test` puts it,
# testdata/fuzz/<target>/ in the package, and then runs with the package's
# tests (a regression test) until it is fixed and the file kept or removed.
#
#   bash bench/fuzz.sh            # a minute each
#   bash bench/fuzz.sh 3s         # a smoke run, as CI does
#   bash bench/fuzz.sh 60s 'API|TCP'   # only targets matching a regexp
#   FUZZ_WORKERS=1 bash bench/fuzz.sh 3s   # one fuzzing worker per target
#                                 # (go test -parallel; default: one per CPU)
#
# Exit status: 0 if no target failed, 1 otherwise. Run it at low priority on
# a shared machine: nice -n 10 bash bench/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

duration="${1:-60s}"
only="${2:-.}"
log="$(mktemp -d)"
trap 'rm -rf "$log"' EXIT

# Every "func FuzzX(f *testing.F)" in a _test.go file: package directory
# and name.
mapfile -t targets < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*(f \*testing\.F)' . |
  sed -E 's#^\./(.*)/[^/]+_test\.go:func (Fuzz[A-Za-z0-9_]*).*#\1 \2#' | sort | grep -E "$only" || true)
if ((${#targets[@]} == 0)); then
  echo "no fuzz target matches $only" >&2
  exit 2
fi

printf '%-34s %-14s %12s %10s  %s\n' target package inputs inputs/s result
failed=0
for t in "${targets[@]}"; do
  pkg="${t% *}"
  name="${t#* }"
  out="$log/$name.out"
  for try in 1 2; do
    start=$(date +%s.%N)
    if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$duration" ${FUZZ_WORKERS:+-parallel "$FUZZ_WORKERS"} "./$pkg" >"$out" 2>&1; then
      result=ok
    else
      result=FAILED
    fi
    end=$(date +%s.%N)
    # Go's fuzzing engine may report its own time limit as a failure
    # ("context deadline exceeded", no input written) when the limit falls
    # while a worker runs an input; short runs meet it most. Try once more.
    if [ "$result" = ok ] || grep -q 'Failing input written' "$out" || ! grep -q 'context deadline exceeded' "$out"; then
      break
    fi
  done
  [ "$result" = ok ] || failed=1
  # Go reports "fuzz: elapsed: 61s, execs: 123456 (2024/sec), new
  # interesting: ..." every 3 s and at the end: the last count is the total.
  execs=$(grep -o 'execs: [0-9]*' "$out" | tail -n 1 | grep -o '[0-9]*' || true)
  elapsed=$(grep -o 'fuzz: elapsed: [0-9]*s' "$out" | tail -n 1 | grep -o '[0-9]*' || true)
  execs=${execs:-0}
  if [ -z "$elapsed" ] || [ "$elapsed" -eq 0 ]; then
    # Too short for Go's own clock: time the run (build included).
    elapsed=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
  fi
  rate=$(awk -v n="$execs" -v s="$elapsed" 'BEGIN { printf "%d", (s > 0 ? n / s : 0) }')
  if [ "$result" = FAILED ]; then
    found=$(grep -o 'testdata/fuzz/[^ ]*' "$out" | tail -n 1 || true)
    result="FAILED ${found:-(see below)}"
  fi
  printf '%-34s %-14s %12s %10s  %s\n' "$name" "$pkg" "$execs" "$rate" "$result"
  if [ "$result" != ok ]; then
    sed 's/^/    /' "$out" | grep -v '^    fuzz: elapsed' | tail -n 40
  fi
done
exit "$failed"
