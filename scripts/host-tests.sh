#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# The host tests: every test binary of the workspace, each run on its own under a time bound,
# then the doctests. Ends with "host: N passed, N failed".
#
#   host-tests.sh                 build the workspace's tests (release) and run them all
#   host-tests.sh --bins FILE     run the binaries listed in FILE ("NAME DIR PATH" per line)
#
# A binary counts by its own summary line ("test result: ... N passed; M failed"), and it
# counts as one failure more when it exits non-zero without reporting a failure (it crashed,
# aborted or was killed), when it never prints a summary, when its summary disagrees with the
# "running N tests" it announced, or when it runs longer than TERN_TEST_TIMEOUT seconds
# (default 600): then it is killed and named.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TERN_ROOT"

TIMEOUT=${TERN_TEST_TIMEOUT:-600}
OUT=${TERN_HOST_OUT:-$TERN_CACHE/host-tests}
rm -rf "$OUT"
mkdir -p "$OUT"
list=$OUT/bins.txt
doc=1
if [ "${1:-}" = --bins ]; then
	cp "$2" "$list"
	doc=0
else
	# NAME DIR PATH for every test executable cargo builds.
	cargo test --release --workspace --no-run --message-format=json 2>"$OUT/build.err" |
		python3 -c '
import json, os, sys
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        t = m["target"]
        print("%s::%s %s %s" % (m["package_id"].split("#")[0].rsplit("/", 1)[-1], t["name"],
              os.path.dirname(m["manifest_path"]), m["executable"]))
' >"$list"
	if [ "${PIPESTATUS[0]}" != 0 ]; then
		cat "$OUT/build.err" >&2
		echo "host: 0 passed, 1 failed"
		exit 1
	fi
fi

P=0 F=0 n=0
# run_one NAME DIR CMD...: one suite, judged as above.
run_one() {
	local name=$1 dir=$2 log rc t0 line p f announced
	shift 2
	n=$((n + 1))
	log=$OUT/$n.log
	t0=$(date +%s)
	(cd "$dir" && exec timeout -k 10 "$TIMEOUT" "$@") >"$log" 2>&1 </dev/null
	rc=$?
	cat "$log"
	p=$(grep -E '^test result:' "$log" | sed -nE 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\1/p' | paste -sd+ | bc)
	f=$(grep -E '^test result:' "$log" | sed -nE 's/.* ([0-9]+) passed; ([0-9]+) failed.*/\2/p' | paste -sd+ | bc)
	announced=$(grep -E '^running [0-9]+ tests?$' "$log" | awk '{s += $2} END {print s + 0}')
	p=${p:-0} f=${f:-0}
	local why=
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		why="hung: killed after $TIMEOUT s"
	elif [ $rc -gt 128 ]; then
		why="killed by signal $((rc - 128))"
	elif [ $rc != 0 ] && [ "$f" = 0 ]; then
		why="exited $rc without reporting a failure"
	elif ! grep -qE '^test result:' "$log"; then
		why="printed no test result"
	elif [ $((p + f)) -gt "$announced" ]; then
		why="reported $((p + f)) results for $announced announced tests"
	fi
	local ignored
	ignored=$(grep -E '^test result:' "$log" | sed -nE 's/.* ([0-9]+) ignored.*/\1/p' | paste -sd+ | bc)
	if [ -z "$why" ] && [ $((p + f + ${ignored:-0})) -lt "$announced" ]; then
		why="announced $announced tests, reported $((p + f + ${ignored:-0}))"
	fi
	if [ -n "$why" ]; then
		f=$((f + 1))
		echo "host: $name: FAILED: $why"
	fi
	printf '[tern] host suite %-40s %4d passed %3d failed %5d s\n' "$name" "$p" "$f" $(($(date +%s) - t0)) >&2
	P=$((P + p)) F=$((F + f))
}

while read -r name dir exe; do
	[ -n "$name" ] || continue
	run_one "$name" "$dir" "$exe"
done <"$list"
if [ $doc = 1 ]; then
	run_one doctests "$TERN_ROOT" cargo test --release --workspace --doc -q
fi
[ $n -gt 0 ] || { echo "host: no test binary found"; F=$((F + 1)); }
echo "host: $P passed, $F failed"
[ "$F" = 0 ]
