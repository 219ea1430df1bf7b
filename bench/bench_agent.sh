#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Agent benchmark: `netward agent` against the test API server (the real
# list/watch protocol, tests/agent/kube_api.py) holding a synthetic cluster, in
# a network namespace of its own. Reports the time to first sync, then pod
# events (a pod on the agent's node created, then deleted, N times each):
# event -> committed latency p50/p99 (from the watch event's arrival to the
# commit of its transaction), and the agent's peak RSS. See docs/performance.md.
#
#   bench/bench_agent.sh [--quick] [--events N] [--replace] [--build DIR]
#
# --replace: each round deletes one of the node's own pods and creates its
# replacement (a rolling update), instead of creating and deleting a new pod.
#
# BENCH_AGENT_LOGS=DIR keeps the agents' logs; BENCH_AGENT_PERF=DIR records a
# perf profile of each agent during its events.
#
# Clusters are bench_enforcer.sh's (bench/out/, made by gen_cluster). Needs root.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build"
events=50
quick=0
replace=()
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) quick=1 ;;
	--events) events=${2:?--events needs a number}; shift ;;
	--build) build=${2:?--build needs a directory}; shift ;;
	--replace) replace=(--replace) ;;
	-h|--help) sed -n '4,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_agent.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
gen="$build/bench/gen_cluster"
netward="$build/netward"
for f in "$gen" "$netward"; do
	[ -x "$f" ] || { echo "bench_agent.sh: $f not found; run: ninja -C build" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "bench_agent.sh: needs root (network namespace, nftables)" >&2; exit 2; }
python3 -c 'import yaml' 2>/dev/null || { echo "bench_agent.sh: needs python3-yaml" >&2; exit 2; }

if [ $quick -eq 1 ]; then
	sizes=("quick|--pods 200 --namespaces 5 --nodes 3 --policies 100")
	events=10
else
	sizes=("10k|--pods 10000 --namespaces 100 --nodes 91 --policies 1000"
	       "150k|--pods 150000 --namespaces 1000 --nodes 1364 --policies 10000")
fi

ns=nwbench-agent
work=$(mktemp -d)
api_pid= agent_pid=
cleanup() {
	[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
	[ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
	ip netns delete "$ns" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

status=0
printf '| cluster | pods | policies | first sync | pod event -> kernel p50 | p99 | max | plan p50 | commit p50 | agent peak RSS |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for s in "${sizes[@]}"; do
	name=${s%%|*}
	args=${s#*|}
	dir="$root/bench/out/$name"
	# shellcheck disable=SC2086
	if [ ! -f "$dir/bench-info.env" ] || ! grep -qF -- "$args --seed 1" "$dir/bench-info.env"; then
		rm -rf "$dir"
		"$gen" $args --seed 1 -o "$dir" >/dev/null || { echo "bench_agent.sh: gen_cluster failed" >&2; exit 2; }
	fi
	ip netns delete "$ns" 2>/dev/null
	ip netns add "$ns" && ip -n "$ns" link set lo up
	rm -f "$work/port"
	ip netns exec "$ns" python3 "$root/tests/agent/kube_api.py" --port 0 --port-file "$work/port" \
		--load "$dir" >"$work/api.log" 2>&1 &
	api_pid=$!
	for _ in $(seq 1 1200); do [ -f "$work/port" ] && break; sleep 0.5; done
	[ -f "$work/port" ] || { echo "bench_agent.sh: the API server did not start" >&2; cat "$work/api.log" >&2; exit 2; }
	port=$(cat "$work/port")
	cat >"$work/kubeconfig" <<-EOF
	apiVersion: v1
	kind: Config
	current-context: bench
	contexts: [{name: bench, context: {cluster: bench}}]
	clusters: [{name: bench, cluster: {server: "http://127.0.0.1:$port"}}]
	EOF
	start=$EPOCHREALTIME
	ip netns exec "$ns" "$netward" agent --node node-1 --kubeconfig "$work/kubeconfig" --listen 127.0.0.1:9490 \
		--uplink eth0 --log-syncs --no-deny-log 2>"$work/agent.err" >/dev/null &
	agent_pid=$!
	first=
	for _ in $(seq 1 6000); do
		if grep -q "ready:" "$work/agent.err"; then
			first=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.1f", b - a}')
			break
		fi
		kill -0 "$agent_pid" 2>/dev/null || break
		sleep 0.1
	done
	# BENCH_AGENT_PERF=DIR profiles the agent during the events (DIR/perf-NAME.data).
	perf_pid=
	if [ -n "$first" ] && [ -n "${BENCH_AGENT_PERF:-}" ]; then
		mkdir -p "$BENCH_AGENT_PERF"
		perf record -g -q -o "$BENCH_AGENT_PERF/perf-$name.data" -p "$agent_pid" 2>/dev/null &
		perf_pid=$!
	fi
	if [ -z "$first" ]; then
		echo "bench_agent.sh: the agent did not get ready on $name" >&2
		tail -5 "$work/agent.err" >&2
		status=1
	elif line=$(ip netns exec "$ns" python3 "$here/agent_events.py" --api "http://127.0.0.1:$port" --log "$work/agent.err" \
		--manifests "$dir" --node node-1 --events "$events" "${replace[@]}" 2>&1); then
		rss=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$agent_pid/status")
		v() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$line"; }
		printf '| %s | %s | %s | %s s | %s ms | %s ms | %s ms | %s ms | %s ms | %s MiB |\n' "$name" \
			"$(sed -n "s/^PODS=//p" "$dir/bench-info.env")" \
			"$(sed -n 's/^POLICIES=//p' "$dir/bench-info.env")" "$first" "$(v p50_ms)" "$(v p99_ms)" \
			"$(v max_ms)" "$(v plan_p50_ms)" "$(v commit_p50_ms)" "$rss"
	else
		echo "bench_agent.sh: events failed on $name: $line" >&2
		status=1
	fi
	[ -n "$perf_pid" ] && kill -INT "$perf_pid" && wait "$perf_pid"
	# BENCH_AGENT_LOGS=DIR keeps each agent's log (with a line per sync) there.
	[ -n "${BENCH_AGENT_LOGS:-}" ] && mkdir -p "$BENCH_AGENT_LOGS" && cp "$work/agent.err" "$BENCH_AGENT_LOGS/agent-$name.log"
	kill "$agent_pid" 2>/dev/null; wait "$agent_pid" 2>/dev/null; agent_pid=
	kill "$api_pid" 2>/dev/null; wait "$api_pid" 2>/dev/null; api_pid=
	ip netns delete "$ns" 2>/dev/null
done
exit $status
