#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The iptables + ipset enforcer netward is measured against: writes a
# cluster's NetworkPolicies for one node the way kube-router's iptables
# controller does (per-pod KUBE-POD-FW chains, per-policy KUBE-NWPLCY chains,
# ipset matches; bench/kube_router_rules.c says exactly what it writes) and
# programs them into a network namespace: `ipset restore`, then
# `iptables-legacy-restore` (or iptables-nft-restore with --backend nft).
#
#   bench/iptables_enforcer.sh -f DIR --node NODE --netns NS [--backend legacy|nft]
#                              [--mark-pod NS/POD] [--max-entries N] [--build DIR]
#   bench/iptables_enforcer.sh --flush --netns NS      # remove what it programmed
#
# Prints one line of key=value pairs: the counts (chains, rules, ipsets,
# entries), generate_ms (kube_router_rules, netward's C model standing in for
# kube-router's Go), ipset_ms and iptables_ms (the kernel-facing restores),
# and apply_ms (their sum). Sets are loaded in chunks of 100 sets per `ipset
# restore` process: libipset looks each set name up in a linear list of the
# sets its process has seen, so one restore of N sets costs O(N^2) string
# comparisons (kube-router runs one; at 3,700 sets that alone took 11 s of
# CPU). The kernel ends up with the same sets either way.
#
# Exit 0, 1 when a restore failed, 2 usage, 4 when the ipsets would exceed
# --max-entries (default 20,000,000; nothing is programmed then).
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build"
dir= node= netns= backend=legacy mark= max=20000000 flush=0

while [ $# -gt 0 ]; do
	case "$1" in
	-f) dir=${2:?}; shift ;;
	--node) node=${2:?}; shift ;;
	--netns) netns=${2:?}; shift ;;
	--backend) backend=${2:?}; shift ;;
	--mark-pod) mark=${2:?}; shift ;;
	--max-entries) max=${2:?}; shift ;;
	--build) build=${2:?}; shift ;;
	--flush) flush=1 ;;
	-h|--help) sed -n '4,27p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "iptables_enforcer.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
case "$backend" in
legacy|nft) ;;
*) echo "iptables_enforcer.sh: --backend legacy or nft" >&2; exit 2 ;;
esac
[ -n "$netns" ] || { echo "iptables_enforcer.sh: --netns is required" >&2; exit 2; }
inns() { ip netns exec "$netns" "$@"; }

if [ $flush = 1 ]; then
	for b in legacy nft; do
		inns "iptables-$b" -F 2>/dev/null
		inns "iptables-$b" -X 2>/dev/null
	done
	inns ipset destroy 2>/dev/null
	exit 0
fi
[ -n "$dir" ] && [ -n "$node" ] || { echo "iptables_enforcer.sh: -f DIR and --node NODE are required" >&2; exit 2; }
krr="$build/bench/kube_router_rules"
[ -x "$krr" ] || { echo "iptables_enforcer.sh: $krr not found; run: ninja -C build" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
now_us() { local t=$EPOCHREALTIME; echo $(( 10#${t//[.,]/} )); }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 1000 }'; }

t0=$(now_us)
counts=$("$krr" -f "$dir" --node "$node" --ipset "$tmp/ipset" --iptables "$tmp/iptables" --ipset-format direct \
	--max-entries "$max" ${mark:+--mark-pod "$mark"})
rc=$?
t1=$(now_us)
if [ $rc -ne 0 ]; then
	[ $rc -eq 4 ] && echo "$counts generate_ms=$(ms "$t0" "$t1") apply=skipped"
	exit $rc
fi
# Chunks of 100 sets (see above), each loaded by its own `ipset restore`.
awk -v n=100 -v base="$tmp/chunk" 'BEGIN { f = sprintf("%s.%06d", base, 0) }
	/^create / { c++; if (c > 1 && c % n == 1) { close(f); f = sprintf("%s.%06d", base, ++k) } }
	{ print > f }' "$tmp/ipset"
t2=$(now_us)
for f in "$tmp"/chunk.*; do
	[ -e "$f" ] || continue
	if ! inns ipset restore -exist <"$f"; then
		echo "iptables_enforcer.sh: ipset restore failed ($f)" >&2
		exit 1
	fi
done
t3=$(now_us)
if ! inns "iptables-$backend-restore" <"$tmp/iptables"; then
	echo "iptables_enforcer.sh: iptables-$backend-restore failed" >&2
	exit 1
fi
t4=$(now_us)
echo "$counts backend=$backend generate_ms=$(ms "$t0" "$t1") ipset_ms=$(ms "$t2" "$t3") iptables_ms=$(ms "$t3" "$t4") apply_ms=$(ms "$t2" "$t4")"
