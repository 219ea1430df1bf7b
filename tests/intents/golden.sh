#!/usr/bin/env bash
# Golden tests of `netward intents`: for every case under tests/intents/golden/CASE,
# `netward intents ARGS` (ARGS from CASE/args, run in CASE) must print
# CASE/expected.out on stdout and CASE/expected.err on stderr, and exit with
# CASE/expected.rc. Run with --update to rewrite the expected files after a
# deliberate change, then review the diff like code.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
netward=${NETWARD:?set NETWARD to the netward binary}
netward=$(cd "$(dirname "$netward")" && pwd)/$(basename "$netward")
update=false
[[ ${1:-} == --update ]] && update=true

failed=0 n=0
for dir in "$here"/golden/*/; do
	name=$(basename "$dir")
	read -r -a args <"$dir/args"
	n=$((n + 1))
	out=$(mktemp) err=$(mktemp)
	rc=0
	(cd "$dir" && "$netward" intents "${args[@]}") >"$out" 2>"$err" || rc=$?
	if $update; then
		mv "$out" "$dir/expected.out"
		mv "$err" "$dir/expected.err"
		echo "$rc" >"$dir/expected.rc"
		echo "ok $n - $name (updated)"
		continue
	fi
	bad=""
	diff -u --label expected.out --label stdout "$dir/expected.out" "$out" >"$out.diff" || bad="stdout"
	diff -u --label expected.err --label stderr "$dir/expected.err" "$err" >>"$out.diff" || bad="$bad stderr"
	[[ $rc == $(cat "$dir/expected.rc") ]] || bad="$bad exit status $rc (want $(cat "$dir/expected.rc"))"
	if [[ -z $bad ]]; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name: $bad"
		sed 's/^/# /' "$out.diff" | head -60
		failed=$((failed + 1))
	fi
	rm -f "$out" "$err" "$out.diff"
done
echo "1..$n"
exit $((failed > 0))
