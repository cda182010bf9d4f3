#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Counts the results of TAP/KTAP files and checks each against its plan.
#
#   tap-count.sh FILE...
#
# Prints one diagnostic line per problem, then "P F S" (passed, failed, skipped) as the last
# line. A file without a top-level plan, a plan whose count differs from the results (a test
# that never reported, a binary that died half-way) or a result numbered out of sequence is
# one more failure. Only top-level lines count; indented subtests belong to their parent.
set -uo pipefail
P=0 F=0 S=0
for f in "$@"; do
	read -r p fl s problem < <(awk -v file="$(basename "$f")" '
		/^1\.\.[0-9]+/ { plans++; plan = substr($1, 4) + 0; next }
		/^(not )?ok [0-9]+/ {
			n++
			num = ($1 == "not") ? $3 : $2
			if (num + 0 != n && !bad) bad = sprintf("result %d is numbered %s", n, num)
			if ($1 == "not") fl++
			else if ($0 ~ /# *[Ss][Kk][Ii][Pp]/) s++
			else p++
		}
		END {
			prob = ""
			if (plans == 0) prob = sprintf("%s: no plan (%d results): the producer died or never started", file, n)
			else if (plans > 1) prob = sprintf("%s: %d plans", file, plans)
			else if (plan != n) prob = sprintf("%s: plan 1..%d but %d results: %d missing", file, plan, n, plan - n)
			else if (bad != "") prob = sprintf("%s: %s", file, bad)
			printf "%d %d %d %s\n", p, fl, s, prob
		}' "$f")
	if [ -n "$problem" ]; then
		echo "# tap: $problem"
		fl=$((fl + 1))
	fi
	P=$((P + p)) F=$((F + fl)) S=$((S + s))
done
echo "$P $F $S"
