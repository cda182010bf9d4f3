#!/bin/bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# Turns the KUnit results in a kernel log (stdin) into one flat TAP stream: one result per test
# case, named SUITE.CASE, then one result per expected suite that says whether the suite ran to
# its plan. A suite that is missing, died half-way or left fewer results than planned fails.
#
#   kunit-tap.sh SUITE... <dmesg >tests-kunit.tap
set -u
sed 's/^\[[^]]*\] //' | awk -v want="$*" '
	BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) expected[w[i]] = 1 }
	/^    # Subtest: / { suite = $3; cases[suite] = 0; plan[suite] = -1; next }
	suite != "" && /^    1\.\.[0-9]+/ { plan[suite] = substr($1, 4) + 0; next }
	suite != "" && /^    (not )?ok [0-9]+ / {
		cases[suite]++
		name = ($1 == "not") ? $4 : $3
		status = ($1 == "not") ? "not ok" : "ok"
		skip = ($0 ~ /# *SKIP/) ? " # SKIP" : ""
		out[++k] = sprintf("%s %%d %s.%s%s", status, suite, name, skip)
		if (status == "not ok") fails[suite]++
		next
	}
	/^(not )?ok [0-9]+ / && suite != "" {
		top = ($1 == "not") ? $4 : $3
		if (top == suite) { ended[suite] = ($1 == "not") ? "not ok" : "ok" }
		suite = ""
		next
	}
	END {
		for (i = 1; i <= k; i++) printf out[i] "\n", i
		m = k
		for (i = 1; i <= n; i++) {
			s = w[i]
			m++
			if (!(s in cases)) {
				printf "# kunit: suite %s did not run (CONFIG_KUNIT, kunit.filter_glob?)\n", s
				printf "not ok %d kunit_%s_complete\n", m, s
			} else if (!(s in ended) || plan[s] != cases[s]) {
				printf "# kunit: suite %s: plan %d, %d results, %s\n", s, plan[s], cases[s], \
					(s in ended) ? "ended" : "no end"
				printf "not ok %d kunit_%s_complete\n", m, s
			} else {
				printf "ok %d kunit_%s_complete\n", m, s
			}
		}
		printf "1..%d\n", m
	}'
