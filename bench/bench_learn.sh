#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Learner benchmark: decoding + aggregation from a pcap file, on one core.
#
#   bench/bench_learn.sh [--quick] [--packets N] [--runs R] [--build DIR]
#
# Builds nothing: expects DIR/bench/bench_learn and DIR/netward (default DIR:
# ./build). Generates (once per size) bench/out/learn-N/capture.pcap: whole
# traffic as `tcpdump -s 96` writes it, between the pods of a 2,000-pod
# cluster (bench/out/learn-N/cluster.yaml), deterministic. Then:
#   1. bench_learn run: libpcap reads the file, every frame is decoded,
#      handshakes and UDP flows tracked and aggregated, every pair attributed
#      to workloads (nwl_finish); R runs, packets/s by wall and by CPU time;
#   2. the same through the command: netward learn -r ... -f ... -o yaml,
#      wall time including loading the model and writing the policies.
# The load average is printed first: the machine may be shared.
# --quick: 200,000 packets, one run (a smoke run for CI). Default: 3,000,000, 5 runs.
# Exit status: 0 ran, 1 a command failed, 2 usage. Timings never fail the script.
set -u -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build="$root/build"
packets=3000000
runs=5

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) packets=200000; runs=1 ;;
	--packets) packets=${2:?--packets needs a number}; shift ;;
	--runs) runs=${2:?--runs needs a number}; shift ;;
	--build) build=${2:?--build needs a directory}; shift ;;
	-h|--help) sed -n '4,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench_learn.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
bench="$build/bench/bench_learn"
netward="$build/netward"
for f in "$bench" "$netward"; do
	[ -x "$f" ] || { echo "bench_learn.sh: $f not found; run: meson setup build && ninja -C build" >&2; exit 2; }
done
out="$root/bench/out/learn-$packets"
if [ ! -f "$out/capture.pcap" ]; then
	mkdir -p "$out" && "$bench" gen "$out" --packets "$packets" || exit 1
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
"$bench" run "$out" --runs "$runs" || exit 1
start=$EPOCHREALTIME
"$netward" learn -r "$out/capture.pcap" -f "$out/cluster.yaml" -q >/dev/null || exit 1
end=$EPOCHREALTIME
awk -v s="$start" -v e="$end" -v n="$packets" \
	'BEGIN { printf "netward learn -r (model loaded, policies written): %.3f s, %.2f M packets/s\n", e - s, n / (e - s) / 1e6 }'
