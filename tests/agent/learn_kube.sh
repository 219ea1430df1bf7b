#!/usr/bin/env bash
# netward learn --kube: the cluster read from the API (the test API server,
# list protocol with pagination), traffic from a pcap written here; the learned
# policy must name the workloads the API holds. TAP.
set -uo pipefail
netward=${NETWARD:?set NETWARD to the netward binary}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
api_pid=
trap '[ -n "$api_pid" ] && kill $api_pid 2>/dev/null; rm -rf "$tmp"' EXIT
echo "1..3"

cat >"$tmp/objects.json" <<'JSON'
[{"kind":"Namespace","metadata":{"name":"shop"}},
 {"kind":"Pod","metadata":{"name":"web-1","namespace":"shop","labels":{"app":"web"},"creationTimestamp":"2026-01-01T00:00:00Z"},
  "spec":{"nodeName":"n1","containers":[{"name":"c"}]},"status":{"phase":"Running","podIP":"10.1.0.1"}},
 {"kind":"Pod","metadata":{"name":"api-1","namespace":"shop","labels":{"app":"api"},"creationTimestamp":"2026-01-01T00:00:00Z"},
  "spec":{"nodeName":"n1","containers":[{"name":"c","ports":[{"containerPort":8080}]}]},
  "status":{"phase":"Running","podIP":"10.1.0.2"}}]
JSON
# One TCP connection web-1 -> api-1:8080 (SYN, SYN-ACK), raw IPv4 link type.
python3 - "$tmp/c.pcap" <<'PY'
import struct, sys
def ip(s): return bytes(int(x) for x in s.split("."))
def csum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff); s += s >> 16
    return ~s & 0xffff
def pkt(src, dst, sport, dport, flags, seq, ack):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, ip(src), ip(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + tcp
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
    for t, p in ((1767225600, pkt("10.1.0.1", "10.1.0.2", 40000, 8080, 0x02, 1, 0)),
                 (1767225600, pkt("10.1.0.2", "10.1.0.1", 8080, 40000, 0x12, 9, 2))):
        f.write(struct.pack("<IIII", t, 0, len(p), len(p)) + p)
PY
python3 "$here/kube_api.py" --port 0 --port-file "$tmp/port" --load "$tmp/objects.json" 2>"$tmp/api.log" &
api_pid=$!
for _ in $(seq 100); do [ -f "$tmp/port" ] && break; sleep 0.1; done
cat >"$tmp/kc" <<KC
apiVersion: v1
kind: Config
current-context: t
contexts: [{name: t, context: {cluster: t}}]
clusters: [{name: t, cluster: {server: "http://127.0.0.1:$(cat "$tmp/port")"}}]
KC

"$netward" learn -r "$tmp/c.pcap" --kubeconfig "$tmp/kc" -q >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] && echo "ok 1 - learn --kube exits 0" || { echo "not ok 1 - learn --kube exits $rc"; sed 's/^/# /' "$tmp/err"; }
if grep -q "name: api" "$tmp/out" && grep -q "app: web" "$tmp/out" && grep -q "port: 8080" "$tmp/out"; then
	echo "ok 2 - the policy for api admits web on 8080, from the API's pods"
else
	echo "not ok 2 - the learned policy names the API's workloads"; sed 's/^/# /' "$tmp/out" "$tmp/err"
fi
kill $api_pid; wait $api_pid 2>/dev/null; api_pid=
"$netward" learn -r "$tmp/c.pcap" --kubeconfig "$tmp/kc" -q >/dev/null 2>"$tmp/err"
rc=$?
[ $rc -eq 3 ] && echo "ok 3 - an unreachable API server is an environment error (exit 3)" ||
	{ echo "not ok 3 - unreachable API: exit $rc, want 3"; sed 's/^/# /' "$tmp/err"; }
