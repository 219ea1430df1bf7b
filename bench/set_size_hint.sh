#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# What a set's declared size does to the kernel's insertion time: one set of
# N IPv4 addresses loaded by `nft -f` into a fresh network namespace, without
# a size (the kernel's resizable hash, which netward's sets get) and with
# `size` (a fixed-size hash, whose size is then a hard limit). Prints the
# kernel (sys) and user time of each load. See docs/performance.md, "Cold
# apply at 150k".
#
#   bench/set_size_hint.sh [--elements N] [--runs R]
set -u -o pipefail

n=430000
runs=2
while [ $# -gt 0 ]; do
	case "$1" in
	--elements) n=${2:?--elements needs a number}; shift ;;
	--runs) runs=${2:?--runs needs a number}; shift ;;
	-h|--help) sed -n '4,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "set_size_hint.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "set_size_hint.sh: needs root (network namespace, nftables)" >&2; exit 2; }
command -v nft >/dev/null || { echo "set_size_hint.sh: needs nft" >&2; exit 2; }

ns=nwbench-sizehint
work=$(mktemp -d)
cleanup() {
	ip netns delete "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

# Addresses 10.0.0.0 + 7k: spread over the space, as pod addresses are.
elements=$(awk -v n="$n" 'BEGIN {
	for (i = 0; i < n; i++) {
		a = 167772160 + i * 7
		printf "%s%d.%d.%d.%d", i ? ", " : "", int(a / 16777216) % 256, int(a / 65536) % 256, int(a / 256) % 256, a % 256
	}
}')
for kind in resizable sized; do
	size=
	[ $kind = sized ] && size="size $((n * 2));"
	printf 'table inet nwsize {\n\tset s { type ipv4_addr; %s elements = { %s } }\n}\n' "$size" "$elements" \
		>"$work/$kind.nft"
done
ip netns add "$ns" || exit 2
printf '| set | elements | run | kernel (sys) | user | wall |\n| --- | ---: | ---: | ---: | ---: | ---: |\n'
for r in $(seq 1 "$runs"); do
	for kind in resizable sized; do
		t=$( { /usr/bin/time -f '%S %U %e' ip netns exec "$ns" nft -f "$work/$kind.nft"; } 2>&1 >/dev/null) ||
			{ echo "set_size_hint.sh: nft -f failed: $t" >&2; exit 1; }
		read -r sys user wall <<<"$(tail -1 <<<"$t")"
		printf '| %s | %d | %d | %s s | %s s | %s s |\n' "$kind" "$n" "$r" "$sys" "$user" "$wall"
		ip netns exec "$ns" nft delete table inet nwsize
	done
done
