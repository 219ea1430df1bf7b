#!/usr/bin/env bash
# Writes docs/cli.md from the binary's own --help texts (so the reference cannot
# drift from the code). With --check, fails if docs/cli.md is out of date.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${NETWARD:-build/netward}
out=$(mktemp)
{
	cat <<'HEAD'
# netward command reference

Generated from `netward COMMAND --help` by `scripts/cli-docs.sh`; the test suite
fails when this file and the binary disagree.

Every command exits with the same codes: **0** ok (allowed, no findings, all
passed), **1** denied (or findings, differences, failed tests), **2** usage or
input error (a bad flag, an invalid manifest: the message names the file, line
and column), **3** environment error (not root, no nftables, nothing reachable).

Inputs (`-f`) are files, directories (searched recursively for `.yaml`, `.yml`
and `.json`), multi-document YAML, JSON (one object or several), `kind: List`
(what `kubectl get -o yaml` prints) and `-` for standard input:
`kubectl get ns,pods,deploy,netpol -A -o yaml | netward matrix -f -`.

HEAD
	echo '## netward'
	echo
	echo '```'
	"$bin" --help
	echo '```'
	for cmd in can matrix explain compile apply agent lab intents learn test lint diff; do
		echo
		echo "## netward $cmd"
		echo
		echo '```'
		"$bin" "$cmd" --help
		echo '```'
	done
	cat <<'TAIL'

## JSON formats

`netward matrix -o json` (and `netward lab run|probe -o json`, where `source` is
`lab` and `allowed` is `null` for a probe that could not run, with a `note`):

```json
{"kind":"Matrix","source":"evaluator","ports":["80/TCP"],"pods":["x/a","x/b"],
 "results":[{"from":"x/a","to":"x/b","port":"80/TCP","allowed":true}, ...]}
```

`netward can -o json`:

```json
{"kind":"Verdict","from":"x/b","to":"x/a","port":"80","allowed":false,
 "pairs":[{"from":"x/b","to":"x/a","fromIP":"10.0.1.2","toIP":"10.0.1.1","allowed":false,
   "port":"80/TCP","reason":"policy",
   "egress":{"pod":"x/b","applies":true,"isolated":false,"allowed":true,"isolatedBy":[],"allowedBy":[]},
   "ingress":{"pod":"x/a","applies":true,"isolated":true,"allowed":false,
     "isolatedBy":["x/deny-all"],"allowedBy":[],
     "notMatched":[{"policy":"x/allow-web","rule":"ingress[0]","reason":"from[0]: podSelector {app=web} does not match the pod (pod=b)"}]}}]}
```

`reason` is `policy`, `self` (a pod to itself) or `node` (a node to its own
pod). Without a port, each pair has `allowedPorts` (`{"TCP":["80","8000-8100"],"UDP":[],"SCTP":[]}`).
`allowedBy` entries name the policy, the rule path (`ingress[0].from[1].ports[0]`)
and its location (`file:line:col`).
TAIL
} >"$out"
if [ "${1:-}" = "--check" ]; then
	if ! diff -u docs/cli.md "$out" >/dev/null; then
		diff -u docs/cli.md "$out" | head -40 >&2
		echo "docs/cli.md is out of date: run scripts/cli-docs.sh" >&2
		rm -f "$out"
		exit 1
	fi
	rm -f "$out"
	echo "docs/cli.md matches the binary"
	exit 0
fi
mv "$out" docs/cli.md
echo "wrote docs/cli.md"
