#!/usr/bin/env bash
# The same spec run offline, in the lab (real packets, the real enforcer) and
# through kubectl (a stand-in backed by a lab, so that command construction,
# output parsing, retries and exit codes are exercised for real) must give the
# same result for every case. Root. TAP output.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${NETWARD:?set NETWARD to the netward binary}
spec=$here/specs/mixed.test.yaml
work=$(mktemp -d)
lab=pt-modes-$$
lab=${lab:0:16}
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && sed 's/^/# /' <<<"$2"; }
cleanup() { "$bin" lab down --name "$lab" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ]; then
	echo "1..0 # SKIP the lab needs root"
	exit 0
fi
echo "1..12"

# Per case: status, and what each probed pair saw ("got"), as one line each.
summary() { python3 - "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for s in r["specs"]:
    for c in s["cases"]:
        got = ",".join(sorted(str(p["got"]) for p in c["pairs"]))
        print("%s | %s | %s" % (c["name"], c["status"], got))
PY
}

"$bin" test --offline -o json "$spec" >"$work/offline.json"
rc=$?
[ $rc -eq 1 ] && ok "offline: exit 1 (a case fails)" || not_ok "offline: exit $rc, want 1"

"$bin" test --lab --lab-name "$lab" -o json "$spec" >"$work/lab.json"
rc=$?
[ $rc -eq 1 ] && ok "lab: exit 1" || not_ok "lab: exit $rc, want 1" "$(cat "$work/lab.json")"

# The stand-in answers for a lab built from the same manifests.
mkdir -p "$work/bin"
ln -s "$here/kubectl" "$work/bin/kubectl"
"$bin" lab up -f "$here/specs/mixed" --name "$lab" >/dev/null || not_ok "lab up for the stand-in"
export KUBECTL_STANDIN_LAB=$lab KUBECTL_STANDIN_STATE=$work/state
PATH=$work/bin:$PATH "$bin" test --kube --timeout 1000 -o json --junit "$work/kube.xml" "$spec" >"$work/kube.json"
rc=$?
[ $rc -eq 1 ] && ok "kube (stand-in): exit 1" || not_ok "kube: exit $rc, want 1" "$(cat "$work/kube.json")"

# Cases with an outside address run offline only: drop them from the offline side.
summary "$work/offline.json" | grep -v "outside address" >"$work/offline.txt"
summary "$work/lab.json" | grep -v "outside address" >"$work/lab.txt"
summary "$work/kube.json" | grep -v "outside address" >"$work/kube.txt"
# The evaluator has no packets: its "got" is its verdict; compare statuses and verdicts.
if diff <(cut -d'|' -f1,2 "$work/offline.txt") <(cut -d'|' -f1,2 "$work/lab.txt") >"$work/d1"; then
	ok "offline and lab agree on every case"
else
	not_ok "offline and lab disagree" "$(cat "$work/d1")"
fi
if diff "$work/lab.txt" "$work/kube.txt" >"$work/d2"; then
	ok "lab and kube agree on every case and every probed pair"
else
	not_ok "lab and kube disagree" "$(cat "$work/d2")"
fi
grep -q '"an outside address (offline only)".*' "$work/kube.json" &&
	python3 -c "
import json,sys
r=json.load(open('$work/kube.json'))
c=[c for c in r['specs'][0]['cases'] if c['name']=='an outside address (offline only)'][0]
sys.exit(0 if c['status']=='skip' else 1)" && ok "an outside address is skipped live, never passed" || not_ok "outside address not skipped live"

# The commands netward ran: one ephemeral container per source pod, probes by pod IP.
if grep -q '"debug", "prober", "-n", "pt-ops", "--image=registry.k8s.io/e2e-test-images/agnhost:2.52", "--container=netward-probe"' "$work/state/calls.log" &&
	grep -q '"exec", "prober", "-n", "pt-ops", "-c", "netward-probe", "--", "/agnhost", "connect", "10\.[0-9.]*:8080", "--timeout=1s", "--protocol=tcp"' "$work/state/calls.log"; then
	ok "kubectl debug and exec built as documented"
else
	not_ok "unexpected kubectl commands" "$(head -20 "$work/state/calls.log")"
fi

# A second run reuses the running probe containers: no second debug.
before=$(grep -c '"debug"' "$work/state/calls.log")
PATH=$work/bin:$PATH "$bin" test --kube --timeout 1000 -o json "$spec" >"$work/kube2.json"
after=$(grep -c '"debug"' "$work/state/calls.log")
[ "$before" = "$after" ] && ok "probe containers are reused ($before debug calls)" || not_ok "debug ran again: $before -> $after"

# A flaky API server: the first 4 exec calls fail; retries make the result the same.
rm -rf "$work/state"
PATH=$work/bin:$PATH KUBECTL_STANDIN_FAIL_EXEC=4 "$bin" test --kube --timeout 1000 --parallel 2 -o json "$spec" >"$work/flaky.json"
rc=$?
summary "$work/flaky.json" | grep -v "outside address" >"$work/flaky.txt"
if [ $rc -eq 1 ] && diff -q "$work/kube.txt" "$work/flaky.txt" >/dev/null; then
	ok "transient kubectl failures are retried: same result"
else
	not_ok "retries: exit $rc" "$(diff "$work/kube.txt" "$work/flaky.txt")"
fi

# An unreachable cluster: exit 3, every case an error, none passed.
PATH=$work/bin:$PATH KUBECTL_STANDIN_DOWN=1 "$bin" test --kube -o json "$spec" >"$work/down.json" 2>/dev/null
rc=$?
passed=$(python3 -c "import json; print(json.load(open('$work/down.json'))['summary']['passed'])")
[ $rc -eq 3 ] && [ "$passed" = 0 ] && ok "unreachable cluster: exit 3, nothing passed" || not_ok "unreachable: exit $rc, passed $passed"

# exec into an app container without the probe: errors after retries, exit 3, never a pass.
PATH=$work/bin:$PATH KUBECTL_STANDIN_NO_AGNHOST=1 "$bin" test --kube --via exec --timeout 500 -o json "$spec" >"$work/noprobe.json" 2>/dev/null
rc=$?
passed=$(python3 -c "import json; print(json.load(open('$work/noprobe.json'))['summary']['passed'])")
[ $rc -eq 3 ] && [ "$passed" = 0 ] && ok "no probe in the container: exit 3, nothing passed" || not_ok "no probe: exit $rc, passed $passed"

# The JUnit report of the live run parses, and names the failures.
if python3 - "$work/kube.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
assert root.get("failures") == "2", root.attrib
cases = root.findall("./testsuite/testcase")
assert len(cases) == 10, len(cases)
fails = [c.get("name") for c in cases if c.find("failure") is not None]
assert fails == ["a wrong expectation fails", "a wrong decider fails"], fails
PY
then ok "JUnit of the live run parses"; else not_ok "JUnit of the live run"; fi

[ "$failed" -eq 0 ]
