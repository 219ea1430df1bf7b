#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Evaluator benchmark: `netward matrix` and `netward can` (offline commands)
# on synthetic clusters made by gen_cluster. See bench/README.md.
#
#   bench/bench_eval.sh [--quick] [--runs N] [--no-large] [--build DIR] [--md FILE] [--seed S]
#
# Builds nothing: expects DIR/netward and DIR/bench/gen_cluster (default
# DIR: ./build, i.e. `meson setup build && ninja -C build`). Clusters go to
# bench/out/ (gitignored). Every command runs once to warm the page cache,
# then N times (default 5); the table shows the median wall time, the
# fastest and slowest run, and the medians of CPU time and peak RSS (GNU
# time's %U+%S and %M). --quick: a 200-pod smoke run for CI (seconds);
# --no-large: skip the 150,000-pod cluster; --md: also write the table there.
#
# Exit status: 0 when every command exited as expected (matrix 0, can 0 or
# 1), 1 when one failed, 2 on usage or set-up errors. Timings never fail the
# script: targets are reported in the table, not enforced.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build"
runs=5
quick=0
large=1
md_out=
seed=1

usage() {
	sed -n '4,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--runs) runs=${2:?--runs needs a number}; shift ;;
	--no-large) large=0 ;;
	--build) build=${2:?--build needs a directory}; shift ;;
	--md) md_out=${2:?--md needs a file}; shift ;;
	--seed) seed=${2:?--seed needs a number}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench_eval.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
case "$runs" in ''|*[!0-9]*|0) echo "bench_eval.sh: --runs: expected a positive number" >&2; exit 2 ;; esac
build=$(cd "$build" 2>/dev/null && pwd) || { echo "bench_eval.sh: no build directory; run: meson setup build && ninja -C build" >&2; exit 2; }

netward="$build/netward"
gen="$build/bench/gen_cluster"
for f in "$netward" "$gen"; do
	if [ ! -x "$f" ]; then
		echo "bench_eval.sh: $f not found; run: ninja -C ${build#"$root"/}" >&2
		exit 2
	fi
done
gnutime=/usr/bin/time
if ! "$gnutime" -f %M true >/dev/null 2>&1; then
	echo "bench_eval.sh: GNU time ($gnutime) is needed for peak RSS; install it: apt-get install time" >&2
	exit 2
fi
if [ -z "${EPOCHREALTIME:-}" ]; then
	echo "bench_eval.sh: bash >= 5 is needed (EPOCHREALTIME)" >&2
	exit 2
fi

out="$root/bench/out"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failed=0
rows=()
cmds=()

# gen NAME ARGS...: (re)generates bench/out/NAME; deterministic, so cheap to redo.
gen_cluster() {
	local name=$1
	shift
	local t0=$EPOCHREALTIME t1
	if ! "$gen" "$@" --seed "$seed" -o "$out/$name" >"$tmp/gen.err" 2>&1; then
		echo "bench_eval.sh: gen_cluster $* failed:" >&2
		cat "$tmp/gen.err" >&2
		exit 1
	fi
	t1=$EPOCHREALTIME
	printf '  generated %-6s %-64s %6d ms, %s\n' "$name" "$*" \
		$(( ($(us "$t1") - $(us "$t0")) / 1000 )) "$(du -sh "$out/$name" | cut -f1)" >&2
}

# EPOCHREALTIME ("seconds.micros", the separator follows the locale) to microseconds.
us() { echo $(( 10#${1//[.,]/} )); }

median() { sort -n | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

# bench ID TARGET_MS OKCODES LABEL -- CMD...: runs CMD (stdout to /dev/null) 1 + $runs times.
bench() {
	local id=$1 target=$2 okcodes=$3 label=$4
	shift 5
	local walls=() rsss=() cpus=() i rc t0 t1 rss cu cs ok c
	printf '  %-4s %s ' "$id" "$label" >&2
	for ((i = 0; i <= runs; i++)); do
		t0=$EPOCHREALTIME
		"$gnutime" -f '%M %U %S' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err"
		rc=$?
		t1=$EPOCHREALTIME
		ok=0
		for c in $okcodes; do [ "$rc" = "$c" ] && ok=1; done
		if [ $ok = 0 ]; then
			echo "FAILED (exit $rc)" >&2
			echo "    command: $*" >&2
			sed 's/^/    | /' "$tmp/err" | head -20 >&2
			failed=1
			rows+=("| $id | $label | FAILED | | | | | exit $rc |")
			cmds+=("$id: $*")
			return
		fi
		# GNU time writes "Command exited with non-zero status N" first: take the last line.
		read -r rss cu cs < <(tail -n 1 "$tmp/time")
		[ "$i" = 0 ] && continue # warm-up
		walls+=($(( $(us "$t1") - $(us "$t0") )))
		rsss+=("$rss")
		cpus+=("$(awk -v u="$cu" -v s="$cs" 'BEGIN { printf "%d", (u + s) * 1000000 }')")
		printf '.' >&2
	done
	local wmed wmin wmax rmed cmed verdict
	wmed=$(printf '%s\n' "${walls[@]}" | median)
	wmin=$(printf '%s\n' "${walls[@]}" | sort -n | head -1)
	wmax=$(printf '%s\n' "${walls[@]}" | sort -n | tail -1)
	rmed=$(printf '%s\n' "${rsss[@]}" | median)
	cmed=$(printf '%s\n' "${cpus[@]}" | median)
	if [ "$target" = "-" ]; then
		verdict="(no target)"
	elif [ $((wmed / 1000)) -le "$target" ]; then
		verdict="met (<= $target ms)"
	else
		verdict="MISSED (> $target ms)"
	fi
	printf ' %s ms, %s MiB\n' "$(ms "$wmed")" "$(mib "$rmed")" >&2
	rows+=("| $id | $label | $(ms "$wmed") | $(ms "$wmin") – $(ms "$wmax") | $(ms "$cmed") | $(mib "$rmed") | $verdict | exit $rc |")
	cmds+=("$id: ${*#"$root"/}")
}

ms() { awk -v u="$1" 'BEGIN { if (u < 100000) printf "%.1f", u / 1000; else printf "%.0f", u / 1000 }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

info() { sed -n "s/^$2=//p" "$out/$1/bench-info.env"; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "netward evaluator benchmark: $runs runs (+1 warm-up) per command; load average $load_start" >&2
if [ $quick = 1 ]; then
	gen_cluster quick --pods 200 --namespaces 5 --nodes 3 --policies 100
	src=$(info quick CAN_SRC) dst=$(info quick CAN_DST) ns=$(info quick BIG_NS)
	bench a-json 1000 0 "matrix 200 pods / 100 policies, -p 8080/TCP -o json" -- \
		"$netward" matrix -f "$out/quick" -p 8080/TCP -o json
	bench a-table 1000 0 "matrix 200 pods / 100 policies, -p 8080/TCP -o table" -- \
		"$netward" matrix -f "$out/quick" -p 8080/TCP -o table
	bench b-can 1000 "0 1" "can, 200 pods / 100 policies, one pair, 8080/TCP" -- \
		"$netward" can -f "$out/quick" "$src" "$dst" 8080/TCP
	bench c-ns - 0 "matrix -n $ns, 200 pods / 100 policies, every declared port" -- \
		"$netward" matrix -f "$out/quick" -n "$ns" -o json
	gen_cluster quick6 --pods 200 --namespaces 5 --nodes 3 --policies 100 --ipv6
	bench q-v6 - 0 "matrix dual-stack 200 pods / 100 policies, --family 6" -- \
		"$netward" matrix -f "$out/quick6" -p 8080/TCP -p 53/UDP -p 3868/SCTP --family 6 -o json
else
	gen_cluster 1k --pods 1000 --namespaces 20 --nodes 10 --policies 1000
	bench a-json 1000 0 "matrix 1,000 pods / 1,000 policies, -p 8080/TCP -o json" -- \
		"$netward" matrix -f "$out/1k" -p 8080/TCP -o json
	bench a-table 1000 0 "matrix 1,000 pods / 1,000 policies, -p 8080/TCP -o table" -- \
		"$netward" matrix -f "$out/1k" -p 8080/TCP -o table
	gen_cluster 10k --pods 10000 --namespaces 100 --nodes 91 --policies 1000
	src=$(info 10k CAN_SRC) dst=$(info 10k CAN_DST)
	bench b-can 1000 "0 1" "can, 10,000 pods / 1,000 policies, one pair, 8080/TCP" -- \
		"$netward" can -f "$out/10k" "$src" "$dst" 8080/TCP
	if [ $large = 1 ]; then
		gen_cluster 150k --pods 150000 --namespaces 1000 --nodes 1364 --policies 10000
		src=$(info 150k CAN_SRC) dst=$(info 150k CAN_DST) ns=$(info 150k BIG_NS)
		nsp=$(info 150k BIG_NS_PODS)
		bench c-can - "0 1" "can, 150,000 pods / 10,000 policies, one pair, 8080/TCP" -- \
			"$netward" can -f "$out/150k" "$src" "$dst" 8080/TCP
		bench c-ns - 0 "matrix -n (one namespace, $nsp pods), 150,000 pods / 10,000 policies, -p 8080/TCP -o json" -- \
			"$netward" matrix -f "$out/150k" -n "$ns" -p 8080/TCP -o json
	fi
fi

{
	echo
	echo "Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
		"$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo);" \
		"$(uname -sr); netward $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?')," \
		"buildtype $(meson introspect "$build" --buildoptions 2>/dev/null |
			grep -o '"name": "buildtype", "value": "[a-z]*"' | sed 's/.*"value": "//; s/"$//')."
	echo "Load average before/after: $load_start / $(cut -d' ' -f1-3 /proc/loadavg)."
	echo "Wall time: median of $runs runs after one warm-up (page cache warm), stdout to /dev/null;" \
		"CPU time (10 ms resolution) and peak RSS: GNU time %U+%S and %M, medians."
	echo
	echo "| id | command | wall median (ms) | min – max (ms) | CPU user+sys (ms) | peak RSS (MiB) | vs target | exit |"
	echo "| --- | --- | ---: | --- | ---: | ---: | --- | --- |"
	printf '%s\n' "${rows[@]}"
	echo
	echo "Commands (relative to the repository root):"
	echo
	for c in "${cmds[@]}"; do
		echo "    ${c//"$root"\//}"
	done
} | tee ${md_out:+"$md_out"}

exit $failed
