#!/usr/bin/env bash
# Golden tests of the lowered rules, no kernel needed: for every case under
# tests/golden/lower/CASE (manifests + an `args` file of compile options),
#   netward compile ARGS            must print CASE/expected.nft
#   netward apply --dry-run ARGS    must print CASE/expected.bytecode, the
#                                   libnftnl objects of the transaction
# Run with --update to rewrite the expected files after a deliberate change,
# then review the diff like code.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
netward=${NETWARD:?set NETWARD to the netward binary}
update=false
[[ ${1:-} == --update ]] && update=true

failed=0 n=0
for dir in "$here"/lower/*/; do
	name=$(basename "$dir")
	read -r -a args <"$dir/args"
	for kind in nft bytecode; do
		n=$((n + 1))
		out=$(mktemp)
		if [[ $kind == nft ]]; then
			"$netward" compile -f "$dir" "${args[@]}" >"$out"
		else
			"$netward" apply --dry-run -f "$dir" "${args[@]}" >"$out"
		fi
		want="$dir/expected.$kind"
		if $update; then
			mv "$out" "$want"
			echo "ok $n - $name $kind (updated)"
		elif diff -u --label "expected.$kind" --label "actual" "$want" "$out" >"$out.diff"; then
			echo "ok $n - $name $kind"
		else
			echo "not ok $n - $name $kind"
			sed 's/^/# /' "$out.diff" | head -60
			failed=$((failed + 1))
		fi
		rm -f "$out" "$out.diff"
	done
done
echo "1..$n"
exit $((failed > 0))
