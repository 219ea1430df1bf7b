#!/usr/bin/env bash
# Golden tests of netward lint, diff and test output: each directory holds
# `cmd` (the arguments, run from that directory), `expected` (stdout and
# stderr) and `rc` (the exit status). With --update, rewrites expected and rc:
# review the diff like code. TAP output.
set -uo pipefail
bin=${NETWARD:?set NETWARD to the netward binary}
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
cd "$(dirname "$0")"
update=${1:-}
cases=$(find . -mindepth 2 -maxdepth 2 -name cmd | sort)
echo "1..$(echo "$cases" | wc -l)"
n=0
failed=0
for c in $cases; do
	dir=$(dirname "$c")
	n=$((n + 1))
	got=$(cd "$dir" && eval "\"$bin\" $(cat cmd)" 2>&1)
	rc=$?
	if [ "$update" = "--update" ]; then
		printf '%s\n' "$got" >"$dir/expected"
		echo "$rc" >"$dir/rc"
		echo "ok $n - ${dir#./} (updated)"
		continue
	fi
	if [ "$got" = "$(cat "$dir/expected")" ] && [ "$rc" = "$(cat "$dir/rc")" ]; then
		echo "ok $n - ${dir#./}"
	else
		failed=$((failed + 1))
		echo "not ok $n - ${dir#./} (exit $rc, want $(cat "$dir/rc"))"
		diff -u "$dir/expected" <(printf '%s\n' "$got") | head -40 | sed 's/^/# /'
	fi
done
[ "$failed" -eq 0 ]
