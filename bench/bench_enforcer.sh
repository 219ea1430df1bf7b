#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Enforcer benchmark: for node-1 of synthetic clusters, the control-plane steps
# (load, resolve + plan, lowering, cold apply into a fresh network namespace,
# a resync with nothing changed, and one pod event committed as a diff), with
# peak RSS. See docs/performance.md. Needs root (the kernel steps).
#
#   bench/bench_enforcer.sh [--quick] [--runs N] [--build DIR]
#
# Clusters are the evaluator benchmark's (bench/out/, made by gen_cluster).
# Exit status: 0 when every run completed, 1 when one failed, 2 on set-up
# errors. Timings never fail the script.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build"
runs=5
quick=0
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--runs) runs=${2:?--runs needs a number}; shift ;;
	--build) build=${2:?--build needs a directory}; shift ;;
	-h|--help) sed -n '4,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_enforcer.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
gen="$build/bench/gen_cluster"
bench="$build/bench/bench_enforcer"
for f in "$gen" "$bench"; do
	[ -x "$f" ] || { echo "bench_enforcer.sh: $f not found; run: ninja -C build" >&2; exit 2; }
done
if [ "$(id -u)" -ne 0 ]; then
	echo "bench_enforcer.sh: needs root (network namespace, nftables)" >&2
	exit 2
fi

if [ $quick -eq 1 ]; then
	sizes=("quick|--pods 200 --namespaces 5 --nodes 3 --policies 100")
	runs=1
else
	sizes=("10k|--pods 10000 --namespaces 100 --nodes 91 --policies 1000"
	       "150k|--pods 150000 --namespaces 1000 --nodes 1364 --policies 10000")
fi

status=0
printf '| cluster | pods | policies | local pods | rules | elements | load | plan | lower | cold apply | resync | pod event (kernel) | peak RSS |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for s in "${sizes[@]}"; do
	name=${s%%|*}
	args=${s#*|}
	dir="$root/bench/out/$name"
	# shellcheck disable=SC2086
	if [ ! -f "$dir/bench-info.env" ] || ! grep -qF -- "$args --seed 1" "$dir/bench-info.env"; then
		rm -rf "$dir"
		"$gen" $args --seed 1 -o "$dir" >/dev/null || { echo "bench_enforcer.sh: gen_cluster failed" >&2; exit 2; }
	fi
	if ! line=$("$bench" -f "$dir" --node node-1 --runs "$runs"); then
		echo "bench_enforcer.sh: bench_enforcer failed on $name" >&2
		status=1
		continue
	fi
	v() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$line"; }
	printf '| %s | %s | %s | %s | %s | %s | %s ms | %s ms | %s ms | %s ms | %s ms | %s ms (%s ms) | %s MiB |\n' \
		"$name" "$(v pods)" "$(v policies)" "$(v local_pods)" "$(v rules)" "$(v elements)" "$(v load_ms)" \
		"$(v plan_ms)" "$(v lower_ms)" "$(v cold_apply_ms)" "$(v resync_ms)" "$(v event_ms)" \
		"$(v event_kernel_ms)" "$(v peak_rss_mib)"
done
exit $status
