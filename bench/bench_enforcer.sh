#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Enforcer (control plane) benchmark: for node-1 of synthetic clusters of
# 1k / 10k / 150k pods with 100 / 1k / 10k policies (every combination), the
# steps between the model and the kernel: load, resolve + plan, lowering,
# cold apply into a fresh network namespace, a resync with nothing changed
# (checked to commit nothing: the nftables generation id does not move), and
# one pod event committed as a diff; peak RSS. Medians of --runs runs.
#
# Beside each: the same node's policies written as kube-router's iptables +
# ipset controller writes them (bench/iptables_enforcer.sh), applied into a
# fresh namespace (`ipset restore` + `iptables-legacy-restore`), and applied
# again with nothing changed, which is what that design does on every resync
# and every pod event (it rewrites the whole filter table and every set).
#
#   bench/bench_enforcer.sh [--quick] [--runs N] [--no-large] [--no-iptables]
#                           [--only CELLS] [--build DIR] [--md FILE] [--kv FILE]
#
# --quick: 200 pods / 100 policies only (CI smoke run). --no-large: skip the
# 150k-pod clusters. --only: the grid cells named, as PODS/POLICIES separated
# by commas (for example 10k/10000,150k/100). --kv: also write every result as
# cp.PODS.POLICIES.KEY=VALUE lines (bench/run reads them). Needs root. Exit 0
# when every run completed, 1 when one failed, 2 on set-up errors. Timings
# never fail the script.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build"
runs=5
quick=0
large=1
ipt=1
md_out=
only=
kv_out=/dev/null
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--runs) runs=${2:?--runs needs a number}; shift ;;
	--no-large) large=0 ;;
	--no-iptables) ipt=0 ;;
	--only) only=${2:?--only needs a list of cells, like 10k/10000,150k/100}; shift ;;
	--build) build=${2:?--build needs a directory}; shift ;;
	--md) md_out=${2:?--md needs a file}; shift ;;
	--kv) kv_out=${2:?--kv needs a file}; shift ;;
	-h|--help) sed -n '4,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_enforcer.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "bench_enforcer.sh: no build directory" >&2; exit 2; }
gen="$build/bench/gen_cluster"
bench="$build/bench/bench_enforcer"
for f in "$gen" "$bench"; do
	[ -x "$f" ] || { echo "bench_enforcer.sh: $f not found; run: ninja -C build" >&2; exit 2; }
done
if [ "$(id -u)" -ne 0 ]; then
	echo "bench_enforcer.sh: needs root (network namespace, nftables)" >&2
	exit 2
fi
if [ $ipt = 1 ]; then
	for t in ipset iptables-legacy-restore; do
		command -v "$t" >/dev/null || { echo "bench_enforcer.sh: $t is missing (scripts/deps.sh installs it); or --no-iptables" >&2; exit 2; }
	done
fi

# name|pods args|policies
if [ $quick = 1 ]; then
	runs=1
	sizes=("quick|--pods 200 --namespaces 5 --nodes 3|100")
else
	sizes=()
	for p in 100 1000 10000; do sizes+=("1k|--pods 1000 --namespaces 20 --nodes 10|$p"); done
	for p in 100 1000 10000; do sizes+=("10k|--pods 10000 --namespaces 100 --nodes 91|$p"); done
	if [ $large = 1 ]; then
		for p in 100 1000 10000; do sizes+=("150k|--pods 150000 --namespaces 1000 --nodes 1364|$p"); done
	fi
fi

tmp=$(mktemp -d)
ns="nwb-ipt-$$"
cleanup() { ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
now_ms() { local t=$EPOCHREALTIME; echo $(( 10#${t//[.,]/} / 1000 )); }
kv() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print ""; else if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
fmt_ms() { awk -v v="$1" 'BEGIN { if (v == "") print "-"; else if (v < 10) printf "%.2f ms", v; else if (v < 1000) printf "%.1f ms", v; else printf "%.2f s", v / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else if (a / b >= 10) printf "%.0fx", a / b; else printf "%.1fx", a / b }'; }

status=0
rows=()
irows=()
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "netward enforcer benchmark: $runs runs per step; load average $load_start" >&2
for s in "${sizes[@]}"; do
	IFS='|' read -r name args pol <<<"$s"
	[ -n "$only" ] && [[ ",$only," != *",$name/$pol,"* ]] && continue
	dir="$root/bench/out/cp-$name-$pol"
	# shellcheck disable=SC2086
	if [ ! -f "$dir/bench-info.env" ] || ! grep -qF -- "$args --policies $pol --seed 1 --chunk" "$dir/bench-info.env"; then
		rm -rf "$dir"
		"$gen" $args --policies "$pol" --seed 1 -o "$dir" >/dev/null || { echo "bench_enforcer.sh: gen_cluster failed" >&2; exit 2; }
	fi
	printf '  %-5s pods, %5s policies: netward' "$name" "$pol" >&2
	load_runs=$runs
	[ "$name" = 150k ] && load_runs=$(( runs < 3 ? runs : 3 ))
	if ! line=$("$bench" -f "$dir" --node node-1 --runs "$runs" --load-runs "$load_runs" 2>"$tmp/err"); then
		echo " FAILED" >&2
		sed 's/^/    | /' "$tmp/err" >&2
		status=1
		continue
	fi
	printf ' %s ms cold, %s ms event' "$(kv cold_apply_ms "$line")" "$(kv event_ms "$line")" >&2
	tr ' ' '\n' <<<"$line" | sed "s/^/cp.$name.$pol./" >>"$kv_out"
	rows+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s (%s) | %s | %s MiB |' \
		"$(kv pods "$line")" "$(kv policies "$line")" "$(kv local_pods "$line")" "$(kv rules "$line")" \
		"$(kv elements "$line")" "$(fmt_ms "$(kv load_ms "$line")")" "$(fmt_ms "$(kv plan_ms "$line")")" \
		"$(fmt_ms "$(kv cold_apply_ms "$line")")" \
		"$(fmt_ms "$(kv resync_ms "$line")"), $(kv resync_commits "$line") sent" \
		"$(fmt_ms "$(kv event_ms "$line")")" "$(fmt_ms "$(kv event_kernel_ms "$line")")" \
		"$(kv event_messages "$line")" "$(kv peak_rss_mib "$line")")")
	if [ $ipt = 1 ]; then
		printf '; iptables + ipset' >&2
		applies=()
		ip netns del "$ns" 2>/dev/null
		ip netns add "$ns"
		first=
		ok=1
		for ((r = 0; r <= runs; r++)); do
			# Run 0 is the cold apply into the fresh namespace; then resyncs (everything again).
			if ! iline=$("$here/iptables_enforcer.sh" --build "$build" -f "$dir" --node node-1 --netns "$ns" 2>"$tmp/err"); then
				if grep -q "apply=skipped" <<<"$iline"; then
					ok=2
				else
					sed 's/^/    | /' "$tmp/err" >&2
					ok=0
				fi
				break
			fi
			if [ $r = 0 ]; then
				first=$iline
			else
				applies+=("$(kv apply_ms "$iline")")
			fi
			# Slow ones (over 20 s) are applied again once, not --runs times.
			[ "$(kv apply_ms "$iline" | cut -d. -f1)" -gt 20000 ] && [ $r -ge 1 ] && break
		done
		ip netns del "$ns" 2>/dev/null
		if [ $ok = 1 ]; then
			resync=$(printf '%s\n' "${applies[@]}" | median)
			printf ' %s ms cold, %s ms resync' "$(kv apply_ms "$first")" "$resync" >&2
			printf 'cp.%s.%s.ipt_cold_ms=%s\ncp.%s.%s.ipt_sync_ms=%s\n' "$name" "$pol" "$(kv apply_ms "$first")" \
				"$name" "$pol" "$resync" >>"$kv_out"
			irows+=("$(printf '| %s | %s | %s / %s | %s / %s | %s | %s | %s | %s | %s | %s |' \
				"$(kv pods "$line")" "$(kv policies "$line")" "$(kv chains "$first")" "$(kv rules "$first")" \
				"$(kv ipsets "$first")" "$(kv ipset_entries "$first")" \
				"$(fmt_ms "$(kv apply_ms "$first")")" "$(ratio "$(kv apply_ms "$first")" "$(kv cold_apply_ms "$line")")" \
				"$(fmt_ms "$resync")" "$(fmt_ms "$(kv resync_ms "$line")") (nothing sent)" \
				"$(ratio "$resync" "$(kv event_ms "$line")")" "${#applies[@]}")")
		elif [ $ok = 2 ]; then
			printf ' skipped (%s ipset entries)' "$(kv ipset_entries "$iline")" >&2
			irows+=("$(printf '| %s | %s | %s / %s | %s / %s | not loaded: over 20 million set entries | | | | | |' \
				"$(kv pods "$line")" "$(kv policies "$line")" "$(kv chains "$iline")" "$(kv rules "$iline")" \
				"$(kv ipsets "$iline")" "$(kv ipset_entries "$iline")")")
		else
			echo " FAILED" >&2
			status=1
		fi
	fi
	echo >&2
done

{
	echo
	echo "Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
		"$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo); $(uname -sr);" \
		"netward $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')."
	echo "Load average before/after: $load_start / $(cut -d' ' -f1-3 /proc/loadavg). Node: node-1. Medians of $runs runs."
	echo
	echo "| pods | policies | local pods | rules | set elements | load | resolve + plan | cold apply | resync | pod event (kernel part) | messages per event | peak RSS |"
	echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	printf '%s\n' "${rows[@]}"
	if [ $ipt = 1 ]; then
		echo
		echo "The same node's policies as an iptables + ipset enforcer writes them (kube-router's layout; bench/iptables_enforcer.sh)."
		echo "Cold apply: \`ipset restore\` + \`iptables-legacy-restore\` into an empty namespace. Full sync: the same again with nothing"
		echo "changed, which that design sends on every resync and on every pod event; netward's resync sends nothing and its pod"
		echo "event sends a diff. × is iptables + ipset ÷ netward (above 1: netward faster)."
		echo
		echo "| pods | policies | chains / rules | ipsets / entries | cold apply | × netward cold | full sync | netward resync | × netward pod event | runs |"
		echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
		printf '%s\n' "${irows[@]}"
	fi
} | tee ${md_out:+"$md_out"}
exit $status
