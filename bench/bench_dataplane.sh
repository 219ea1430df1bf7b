#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Dataplane benchmark: what enforcing NetworkPolicy costs packets, measured in
# the lab (network namespaces on this machine) between a client pod on node-2
# and a server pod on node-1, for:
#   none      no rules at all (no conntrack either)
#   ct        conntrack only: one `ct state established,related accept` rule,
#             what every Kubernetes node has anyway (kube-proxy)
#   nw-P      netward's table with P policies selecting the server
#   ipt-P     the same policies as iptables + ipset rules, written as
#             kube-router's controller writes them (bench/kube_router_rules)
# with P in 0, 100, 1000, 10000 (--quick: 0, 10, 100). Each node's rules are
# those of node-1 / node-2 of a 10,000-pod synthetic cluster (about 110 pods
# per node; gen_cluster --bench-pair), of which the lab instantiates only the
# client and the server. Only the last policy lets the client in.
#
# Metrics: bulk TCP throughput (iperf3, one stream), request/response rate
# (bench/loadgen rr: 16 connections, 1-byte requests), new-connection rate
# (loadgen crr: 16 in flight, connect + 1 byte each way + close) and the
# connect() latency of new connections, p50 and p99 (loadgen connect: one at
# a time; the SYN is the packet the policy decides). All configurations are
# set up first, each in its own lab, then measured in interleaved rounds
# (the order rotates every round); the tables give the median of the rounds
# and the ratio to `none`.
#
#   bench/bench_dataplane.sh [--quick] [--rounds N] [--seconds S] [--prefix P]
#                            [--build DIR] [--md FILE] [--kv FILE] [--keep] [--only LIST]
#
# Needs root, iperf3, iptables (legacy), ipset, nft. Labs are named
# <prefix>-<config> (prefix default bdp). Exit 0 when every measurement ran and
# every configuration enforced what it should, 1 otherwise, 2 on set-up errors.
# --kv writes the medians as dp.CONFIG.METRIC=VALUE lines (bench/run reads
# them), and every round's values as dp.CONFIG.METRIC.rROUND=VALUE.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build"
quick=0
rounds=
seconds=
prefix=bdp
md_out=
kv_out=/dev/null
keep=0
only=

usage() { sed -n '4,35p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--rounds) rounds=${2:?}; shift ;;
	--seconds) seconds=${2:?}; shift ;;
	--prefix) prefix=${2:?}; shift ;;
	--build) build=${2:?}; shift ;;
	--md) md_out=${2:?}; shift ;;
	--kv) kv_out=${2:?}; shift ;;
	--keep) keep=1 ;;
	--only) only=${2:?}; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench_dataplane.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done

build=$(cd "$build" 2>/dev/null && pwd) || { echo "bench_dataplane.sh: no build directory; run: meson setup build && ninja -C build" >&2; exit 2; }
netward="$build/netward"
gen="$build/bench/gen_cluster"
loadgen="$build/bench/loadgen"
for f in "$netward" "$gen" "$build/bench/kube_router_rules" "$loadgen"; do
	[ -x "$f" ] || { echo "bench_dataplane.sh: $f not found; run: ninja -C build" >&2; exit 2; }
done
if [ "$(id -u)" -ne 0 ]; then
	echo "bench_dataplane.sh: needs root (network namespaces, nftables, iptables)" >&2
	exit 2
fi
for t in iperf3 ipset iptables-legacy-restore nft jq ip; do
	command -v "$t" >/dev/null || { echo "bench_dataplane.sh: $t is missing (scripts/deps.sh installs it)" >&2; exit 2; }
done

if [ $quick = 1 ]; then
	counts=(0 10 100)
	gen_args="--pods 300 --namespaces 6 --nodes 3"
	: "${rounds:=1}" "${seconds:=0.5}"
	connects=300
else
	counts=(0 100 1000 10000)
	gen_args="--pods 10000 --namespaces 100 --nodes 91"
	: "${rounds:=5}" "${seconds:=2}"
	connects=3000
fi
out="$root/bench/out"
mkdir -p "$out"
tmp=$(mktemp -d)
log() { echo "$*" >&2; }
now_ms() { local t=$EPOCHREALTIME; echo $(( 10#${t//[.,]/} / 1000 )); }

# ---- clusters ----
for p in "${counts[@]}"; do
	dir="$out/dp$([ $quick = 1 ] && echo q)-$p"
	# shellcheck disable=SC2086
	if [ ! -f "$dir/bench-info.env" ] || ! grep -qF -- "$gen_args --policies $p --seed 1 --bench-pair" "$dir/bench-info.env"; then
		rm -rf "$dir"
		"$gen" $gen_args --policies "$p" --seed 1 --bench-pair -o "$dir" >/dev/null ||
			{ log "bench_dataplane.sh: gen_cluster failed"; exit 2; }
	fi
done
dp_dir() { echo "$out/dp$([ $quick = 1 ] && echo q)-$1"; }
info() { sed -n "s/^$2=//p" "$(dp_dir "$1")/bench-info.env"; }
server_ip=$(info 0 BENCH_SERVER_IP)
client_ip=$(info 0 BENCH_CLIENT_IP)
server_pod=$(info 0 BENCH_SERVER)

configs=(none ct)
for p in "${counts[@]}"; do configs+=("nw-$p"); done
for p in "${counts[@]}"; do configs+=("ipt-$p"); done
if [ -n "$only" ]; then
	configs=()
	for c in ${only//,/ }; do configs+=("$c"); done
fi

# ---- labs ----
declare -A srv_ns cli_ns node_ns pids setup_note
status=0

cleanup() {
	for c in "${configs[@]}"; do
		if [ $keep = 1 ]; then
			[ -n "${pids[$c]:-}" ] && log "kept lab $prefix-$c: loadgen server pid ${pids[$c]}, iperf3 -s pid $(cat "$tmp/iperf-$c.pid" 2>/dev/null)"
			continue
		fi
		[ -n "${pids[$c]:-}" ] && kill "${pids[$c]}" 2>/dev/null
		[ -f "$tmp/iperf-$c.pid" ] && kill "$(cat "$tmp/iperf-$c.pid")" 2>/dev/null
		"$netward" lab down --name "$prefix-$c" >/dev/null 2>&1
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Program a node namespace the way a configuration says. Prints a note.
program_node() { # config node(1|2) netns
	local c=$1 n=$2 ns=$3 p t0 t1 line
	case "$c" in
	none)
		ip netns exec "$ns" "$netward" apply --delete >/dev/null || return 1
		echo "no table" ;;
	ct)
		ip netns exec "$ns" "$netward" apply --delete >/dev/null || return 1
		ip netns exec "$ns" nft -f - <<-'EOF' || return 1
			table inet bench_ct {
				chain forward { type filter hook forward priority filter; policy accept;
					ct state established,related accept
				}
			}
		EOF
		echo "1 rule" ;;
	nw-*)
		p=${c#nw-}
		line=$(ip netns exec "$ns" "$netward" apply -f "$(dp_dir "$p")" --node "node-$n" --uplink fab0) || return 1
		echo "$line" | sed -n 's/.*: \([0-9]* pods\), \([0-9]* chains\), \([0-9]* rules\), \([0-9]* set elements\).* in \([0-9.]* ms\)$/\1, \2, \3, \4; applied in \5/p' ;;
	ipt-*)
		p=${c#ipt-}
		ip netns exec "$ns" "$netward" apply --delete >/dev/null || return 1
		line=$("$here/iptables_enforcer.sh" --build "$build" -f "$(dp_dir "$p")" --node "node-$n" --netns "$ns" \
			--mark-pod "$([ "$n" = 1 ] && info 0 BENCH_SERVER || info 0 BENCH_CLIENT)") || return 1
		v() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$line"; }
		echo "$(v local_pods) pods, $(v chains) chains, $(v rules) rules, $(v ipsets) ipsets, $(v ipset_entries) entries; the pod's jump is number $(v mark_pod_position) of $(v local_pods) in KUBE-ROUTER-FORWARD; applied in $(v apply_ms) ms (ipset $(v ipset_ms) ms, iptables-restore $(v iptables_ms) ms)" ;;
	esac
}

# Can the client open a TCP connection to the server on this port (1 s)?
reach() { # config port
	ip netns exec "${cli_ns[$1]}" timeout 1.5 bash -c "exec 3<>/dev/tcp/$server_ip/$2" 2>/dev/null
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
log "netward dataplane benchmark: ${#configs[@]} configurations, $rounds round(s) of ${seconds} s per test; load average $load_start"
for c in "${configs[@]}"; do
	lab="$prefix-$c"
	"$netward" lab down --name "$lab" >/dev/null 2>&1
	t0=$(now_ms)
	if ! "$netward" lab up -f "$(dp_dir 0)/bench-lab.manifest" --name "$lab" --nodes 2 >"$tmp/up.log" 2>&1; then
		log "bench_dataplane.sh: lab $lab did not come up:"; cat "$tmp/up.log" >&2; exit 2
	fi
	state="/run/netward/lab/$lab.json"
	srv_ns[$c]=$(jq -r --arg p "$server_pod" '.pods[] | select(.name == $p) | .netns' "$state")
	cli_ns[$c]=$(jq -r --arg p "$(info 0 BENCH_CLIENT)" '.pods[] | select(.name == $p) | .netns' "$state")
	note=
	for n in 1 2; do
		ns=$(jq -r --arg n "node-$n" '.nodes[] | select(.name == $n) | .netns' "$state")
		node_ns[$c,$n]=$ns
		# The client's ephemeral ports: as many as possible (new-connection test).
		if ! r=$(program_node "$c" "$n" "$ns" 2>"$tmp/prog.err"); then
			log "bench_dataplane.sh: programming $c on node-$n failed:"; cat "$tmp/prog.err" >&2; exit 2
		fi
		note+="node-$n: $r. "
	done
	setup_note[$c]=$note
	ip netns exec "${cli_ns[$c]}" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	ip netns exec "${srv_ns[$c]}" "$loadgen" server --rr 7001 --crr 7002 --crr 7011 >"$tmp/srv-$c.log" 2>&1 &
	pids[$c]=$!
	ip netns exec "${srv_ns[$c]}" iperf3 -s -D --pidfile "$tmp/iperf-$c.pid" >/dev/null 2>&1
	log "  $c: set up in $(( $(now_ms) - t0 )) ms. $note"
done
sleep 0.5

# Every configuration must let the client in on the benchmark ports, and
# those with policies must keep it out of 7011 (the server listens there too).
for c in "${configs[@]}"; do
	if ! reach "$c" 7002; then
		log "bench_dataplane.sh: $c: the client cannot reach the server on 7002"; status=1
	fi
	case "$c" in
	nw-0|ipt-0|none|ct) want=open ;;
	*) want=closed ;;
	esac
	if reach "$c" 7011; then got=open; else got=closed; fi
	if [ "$got" != "$want" ]; then
		log "bench_dataplane.sh: $c: port 7011 is $got, expected $want (the rules are not what they should be)"; status=1
	fi
done

# ---- measurements ----
declare -A res
measure() { # config round
	local c=$1 r=$2 cli=${cli_ns[$1]} o lim
	lim=$(awk -v s="$seconds" 'BEGIN { printf "%d", s + 10 }')
	# iperf3 takes whole seconds.
	o=$(timeout "$lim" ip netns exec "$cli" iperf3 -c "$server_ip" -t "$(awk -v s="$seconds" 'BEGIN { printf "%d", s < 1 ? 1 : s + 0.5 }')" \
		--connect-timeout 2000 -J 2>/dev/null |
		jq -r '.end.sum_received.bits_per_second // empty')
	res[$c,tput,$r]=${o:-0}
	o=$(timeout "$lim" ip netns exec "$cli" "$loadgen" rr --to "$server_ip:7001" --seconds "$seconds" --warmup 0.3) || o=
	res[$c,rr,$r]=$(sed -n 's/.* rate=\([0-9]*\).*/\1/p' <<<"$o")
	o=$(timeout "$lim" ip netns exec "$cli" "$loadgen" crr --to "$server_ip:7002" --seconds "$seconds" --warmup 0.3) || o=
	res[$c,crr,$r]=$(sed -n 's/.* rate=\([0-9]*\).*/\1/p' <<<"$o")
	o=$(timeout "$((lim + 30))" ip netns exec "$cli" "$loadgen" connect --to "$server_ip:7002" --count "$connects" \
		--warmup 50 --seconds "$(awk -v s="$seconds" 'BEGIN { print s * 3 }')") || o=
	res[$c,nconn,$r]=$(sed -n 's/.* count=\([0-9]*\).*/\1/p' <<<"$o")
	res[$c,p50,$r]=$(sed -n 's/.* p50_us=\([0-9.]*\).*/\1/p' <<<"$o")
	res[$c,p99,$r]=$(sed -n 's/.* p99_us=\([0-9.]*\).*/\1/p' <<<"$o")
	for k in tput rr crr p50 p99; do
		if [ -z "${res[$c,$k,$r]}" ] || [ "${res[$c,$k,$r]}" = 0 ]; then
			log "bench_dataplane.sh: $c round $r: $k failed"; status=1; res[$c,$k,$r]=0
		fi
	done
}

nc=${#configs[@]}
for ((r = 1; r <= rounds; r++)); do
	printf '  round %d/%d:' "$r" "$rounds" >&2
	for ((i = 0; i < nc; i++)); do
		c=${configs[$(( (i + r - 1) % nc ))]}
		printf ' %s' "$c" >&2
		measure "$c" "$r"
	done
	printf ' (load %s)\n' "$(cut -d' ' -f1 /proc/loadavg)" >&2
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print 0; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
med() { # config metric
	local r
	for ((r = 1; r <= rounds; r++)); do echo "${res[$1,$2,$r]}"; done | median
}
declare -A m
for c in "${configs[@]}"; do
	for k in tput rr crr p50 p99; do
		m[$c,$k]=$(med "$c" "$k")
		echo "dp.$c.$k=${m[$c,$k]}" >>"$kv_out"
		for ((r = 1; r <= rounds; r++)); do echo "dp.$c.$k.r$r=${res[$c,$k,$r]}" >>"$kv_out"; done
	done
done
base=none
[ -z "${m[none,tput]:-}" ] && base=${configs[0]}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }'; }
label() {
	case "$1" in
	none) echo "no rules" ;;
	ct) echo "conntrack only" ;;
	nw-*) echo "netward, ${1#nw-} policies" ;;
	ipt-*) echo "iptables + ipset, ${1#ipt-} policies" ;;
	esac
}

{
	echo
	echo "Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1);" \
		"$(uname -sr); netward $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?');" \
		"iperf3 $(iperf3 --version | head -1 | awk '{print $2}'), $(iptables-legacy --version), ipset $(ipset --version | awk '{print $2}' | tr -d ,)."
	echo "Load average before/after: $load_start / $load_end. $rounds round(s), ${seconds} s per test," \
		"$connects connects per latency test; medians over the rounds."
	echo
	echo "| configuration | throughput (Gbit/s) | × | req/resp (1/s) | × | new conns (1/s) | × | connect p50 (µs) | × | connect p99 (µs) | × |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
	for c in "${configs[@]}"; do
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$c")" \
			"$(awk -v v="${m[$c,tput]}" 'BEGIN { printf "%.2f", v / 1e9 }')" "$(ratio "${m[$c,tput]}" "${m[$base,tput]}")" \
			"${m[$c,rr]%.*}" "$(ratio "${m[$c,rr]}" "${m[$base,rr]}")" \
			"${m[$c,crr]%.*}" "$(ratio "${m[$c,crr]}" "${m[$base,crr]}")" \
			"${m[$c,p50]}" "$(ratio "${m[$c,p50]}" "${m[$base,p50]}")" \
			"${m[$c,p99]}" "$(ratio "${m[$c,p99]}" "${m[$base,p99]}")"
	done
	echo
	echo "× is the ratio to no rules (for latency, above 1 is slower)."
	for c in "${configs[@]}"; do
		n=$(for ((r = 1; r <= rounds; r++)); do echo "${res[$c,nconn,$r]:-0}"; done | median)
		if [ "${n%.*}" -lt "$connects" ]; then
			echo "$(label "$c"): connect latency from ${n%.*} connections per round (the time limit, $(awk -v s="$seconds" 'BEGIN { print s * 3 }') s, came first)."
		fi
	done
	have_pairs=0
	for p in "${counts[@]}"; do [ -n "${m[nw-$p,tput]:-}" ] && [ -n "${m[ipt-$p,tput]:-}" ] && have_pairs=1; done
	if [ $have_pairs = 1 ]; then
		echo
		echo "netward beside iptables + ipset with the same policies (netward ÷ iptables; above 1 is netward ahead for rates, behind for latency):"
		echo
		echo "| policies selecting the server | throughput | req/resp | new conns | connect p50 | connect p99 |"
		echo "| ---: | ---: | ---: | ---: | ---: | ---: |"
		for p in "${counts[@]}"; do
			[ -n "${m[nw-$p,tput]:-}" ] && [ -n "${m[ipt-$p,tput]:-}" ] || continue
			printf '| %s | %s | %s | %s | %s | %s |\n' "$p" \
				"$(ratio "${m[nw-$p,tput]}" "${m[ipt-$p,tput]}")" "$(ratio "${m[nw-$p,rr]}" "${m[ipt-$p,rr]}")" \
				"$(ratio "${m[nw-$p,crr]}" "${m[ipt-$p,crr]}")" "$(ratio "${m[nw-$p,p50]}" "${m[ipt-$p,p50]}")" \
				"$(ratio "${m[nw-$p,p99]}" "${m[ipt-$p,p99]}")"
		done
	fi
	echo
	echo "What each configuration programmed (node-1 holds the server, node-2 the client):"
	echo
	for c in "${configs[@]}"; do
		echo "- $(label "$c"): ${setup_note[$c]}"
	done
} | tee ${md_out:+"$md_out"}

exit $status
