#!/usr/bin/env bash
# The netward command line, end to end, as a user meets it: the binary's exit
# codes, its output on stdout and its messages on stderr, for every command in
# `netward --help`, every input form of -f, every kind of malformed input, and
# the commands README.md and docs/quickstart.md show. Prints TAP.
#
#   NETWARD=build/netward tests/cli/run.sh
#
# Registered in the unit suite, so it also runs against the AddressSanitizer +
# UBSan build: every hostile input below must then end in a clean exit code.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
netward=${NETWARD:?set NETWARD to the netward binary}
case $netward in /*) ;; *) netward=$PWD/$netward ;; esac
data=$here/data
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$data" || exit 1

# ---------------------------------------------------------------------------
# TAP and the one way to run netward

n=0
failed=0
stdin=/dev/null
rc=0

# Known bugs, as "GLOB|what": the tests whose description matches GLOB are TAP
# TODO. A failure is expected; a pass is news (meson reports an unexpected
# pass and fails the run), so the fix drops its line here.
known=(
)

# run ARGS...: netward ARGS, stdin from $stdin; sets $rc, $tmp/out and $tmp/err.
run() {
	"$netward" "$@" <"$stdin" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	last_cmd="netward $*"
	[[ $stdin == /dev/null ]] || last_cmd="$last_cmd < ${stdin#"$data"/}"
}

# run_from FILE ARGS...: the same with FILE on stdin (cat FILE | netward ARGS).
run_from() {
	local f=$1
	shift
	stdin=$f
	run "$@"
	stdin=/dev/null
}

show() {
	echo "#   \$ $last_cmd"
	echo "#   exit $rc"
	sed -n '1,15s/^/#   out| /p' "$tmp/out"
	sed -n '1,15s/^/#   err| /p' "$tmp/err"
}

todo() { # DESC: " # TODO what" for a known bug, else nothing
	local k
	for k in "${known[@]}"; do
		# shellcheck disable=SC2053 # a glob, on purpose
		if [[ $1 == ${k%%|*} ]]; then
			echo " # TODO ${k#*|}"
			return
		fi
	done
}

pass() {
	n=$((n + 1))
	echo "ok $n - $1$(todo "$1")"
}

fail() { # DESC WHY [FILE]: FILE, or else the last run, shows what went wrong
	local t
	t=$(todo "$1")
	n=$((n + 1))
	[[ -n $t ]] || failed=$((failed + 1))
	echo "not ok $n - $1$t"
	echo "#   $2"
	if [[ -n ${3:-} ]]; then
		sed -n '1,20s/^/#   /p' "$3"
	else
		show
	fi
}

skip() { # DESC WHY
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}

# crashed: the last run died of a signal or a sanitizer finding.
crashed() {
	[[ $rc -ge 128 ]] || grep -qE 'Sanitizer|runtime error:' "$tmp/err"
}

# expect DESC CHECK...: one TAP line for the last run. Each CHECK is one word:
#   rc=N                 the exit code
#   out:empty err:empty  nothing printed
#   out:has:TEXT         TEXT (fixed string) somewhere in it; err:has:TEXT too
#   out:lacks:TEXT       TEXT nowhere in it
#   out:~:ERE            a line matches the extended regular expression
#   out:!~:ERE           no line matches it
#   err:1:ERE            the first line matches ERE
# A crash (signal, sanitizer report) always fails.
expect() {
	local desc=$1 c stream op val file
	shift
	if crashed; then
		fail "$desc" "crashed"
		return
	fi
	for c in "$@"; do
		if [[ $c == rc=* ]]; then
			if [[ $rc != "${c#rc=}" ]]; then
				fail "$desc" "want exit ${c#rc=}"
				return
			fi
			continue
		fi
		stream=${c%%:*}
		op=${c#*:}
		val=${op#*:}
		op=${op%%:*}
		file=$tmp/$stream
		case $op in
		empty) [[ ! -s $file ]] ;;
		has) grep -qF -- "$val" "$file" ;;
		lacks) ! grep -qF -- "$val" "$file" ;;
		'~') grep -qE -- "$val" "$file" ;;
		'!~') ! grep -qE -- "$val" "$file" ;;
		1) head -n 1 "$file" | grep -qE -- "$val" ;;
		*) echo "Bail out! bad check $c" && exit 2 ;;
		esac || {
			fail "$desc" "want $c"
			return
		}
	done
	pass "$desc"
}

# same DESC WANT GOT: two outputs are equal.
same() {
	if cmp -s "$2" "$3"; then
		pass "$1"
	else
		diff -u --label want --label got "$2" "$3" >"$tmp/diff"
		fail "$1" "they differ" "$tmp/diff"
	fi
}

# python_ok DESC FILE: FILE (a python3 script's output) is empty, or says why not.
python_ok() {
	if [[ -s $2 ]]; then
		fail "$1" "$(tail -n 1 "$2")" "$2"
	else
		pass "$1"
	fi
}

# ---------------------------------------------------------------------------
echo "# every command answers --help, an unknown option and a missing argument"

# The commands as `netward --help` lists them.
run --help
expect "netward --help: exit 0, usage on stdout" rc=0 'out:1:^Usage: netward COMMAND' err:empty
commands=$(sed -n '/^Commands:/,/^$/s/^  \([a-z]\+\) .*/\1/p' "$tmp/out")
[[ -n $commands ]] || { echo "Bail out! no commands in netward --help"; exit 1; }

run
expect "netward alone: usage error" rc=2 'err:has:Usage: netward' out:empty
run frobnicate
expect "netward frobnicate: not a command" rc=2 'err:has:"frobnicate" is not a command' out:empty
run --version
expect "netward --version" rc=0 'out:~:^netward [0-9]+\.[0-9]+\.[0-9]+$'

# Commands whose issues have not landed yet answer "not available in this
# build yet" (exit 3); once one lands, its --help must exit 0.
placeholders=" agent intents learn test lint diff "

for cmd in $commands; do
	run "$cmd" --help
	if [[ $placeholders == *" $cmd "* ]]; then
		if [[ $rc == 3 ]] && grep -q 'not available in this build yet' "$tmp/err"; then
			skip "netward $cmd --help" "placeholder: 'netward $cmd' is not written yet (its own issue)"
		else
			expect "netward $cmd --help: exit 0" rc=0
		fi
		continue
	fi
	expect "netward $cmd --help: exit 0, a usage line" rc=0 "out:1:^Usage: netward $cmd( |\$)" err:empty
	run help "$cmd"
	expect "netward help $cmd: the same as --help" rc=0 "out:1:^Usage: netward $cmd( |\$)"
	run "$cmd" --no-such-option
	expect "netward $cmd --no-such-option: exit 2, names the command" rc=2 "err:has:netward $cmd" out:empty
done

# A missing argument, per command (never one that would touch the kernel or
# build a lab if it were taken).
for args in "can" "can -f" "can -f forms/cluster.yaml" "can -f forms/cluster.yaml shop/api" \
	"matrix" "matrix -f" "matrix -f forms/cluster.yaml -p" "matrix -f forms/cluster.yaml -o" \
	"explain" "explain -f forms/cluster.yaml" "explain -f" \
	"compile" "compile -f forms/cluster.yaml" "compile -f forms/cluster.yaml --node" \
	"apply" "apply --node" "lab" "lab up -f"; do
	read -r -a argv <<<"$args"
	run "${argv[@]}"
	expect "netward $args: exit 2, names the command" rc=2 "err:has:netward ${argv[0]}" out:empty
done
run can -f
expect "a missing option argument is called that" rc=2 "err:1:^netward can: option requires an argument -- 'f'\$" \
	"err:has:Run 'netward can --help' for usage." 'err:lacks:unknown option'
run matrix --no-such-option
expect "an unknown option is called that" rc=2 "err:1:^netward matrix: unrecognized option '--no-such-option'\$"

# ---------------------------------------------------------------------------
echo "# -f: every input form gives the same answer"

run matrix -f forms/cluster.yaml -o json
expect "multi-document YAML" rc=0 'out:has:"pods":["data/db-0","shop/api","shop/web-7d9f-a","shop/web-7d9f-b","tools/debug"]' err:empty
cp "$tmp/out" "$tmp/want.json"

check_form() { # DESC, then the -f arguments (or "stdin FILE")
	local desc=$1
	shift
	if [[ $1 == stdin ]]; then
		run_from "$2" matrix -f - -o json
	else
		run matrix "$@" -o json
	fi
	if [[ $rc != 0 ]] || crashed; then
		expect "$desc" rc=0
		return
	fi
	same "$desc: the same matrix" "$tmp/want.json" "$tmp/out"
}
check_form "a directory (recursive; .yaml .yml .json only)" -f forms/dir
check_form "a directory, with a trailing slash" -f forms/dir/
check_form "kind: List in YAML" -f forms/list.yaml
check_form "kind: List in JSON" -f forms/list.json
check_form "a stream of JSON objects" -f forms/several.json
check_form "one JSON object per -f, and several -f" -f forms/dir/apps/data.json -f forms/dir/00-namespaces.yaml \
	-f forms/dir/apps/shop -f forms/dir/apps/tools.yaml -f forms/dir/policies
check_form "YAML on stdin (-f -)" stdin forms/cluster.yaml
check_form "a JSON List on stdin (-f -)" stdin forms/list.json
check_form "JSON objects on stdin (-f -)" stdin forms/several.json

run can -f forms/dir shop/deployment/web shop/api api
expect "can -f DIR: messages name the file found in the directory" rc=0 \
	'out:has:(forms/dir/policies/shop.json:' 'out:lacks://'
run can -f forms/dir/ shop/deployment/web shop/api api
expect "can -f DIR/: the same names, no //" rc=0 \
	'out:has:(forms/dir/policies/shop.json:' 'out:lacks://'

# A directory is read in sorted (byte) order: the first definition wins, and
# each later one is reported where it is.
run matrix -f sorted
expect "a directory is read in sorted order" rc=2 out:empty \
	'err:1:^sorted/a\.yaml:1:1: error: Namespace shop: duplicate object \(first defined at sorted/B\.json:1:1\)' \
	'err:~:^sorted/b/c\.yml:1:1: error:' 'err:~:^sorted/c\.json:1:1: error:'
sed -n 's/:.*//p' "$tmp/err" | grep -v '^netward' >"$tmp/order"
printf '%s\n' sorted/a.yaml sorted/b/c.yml sorted/c.json >"$tmp/want-order"
same "the errors come in that order" "$tmp/want-order" "$tmp/order"

run matrix -f no/such/file.yaml
expect "a missing file: exit 2, its name" rc=2 out:empty 'err:1:^no/such/file\.yaml: error: cannot read: No such file or directory'

run matrix -f forms/dir/README.md
expect "a file named on the command line is read whatever its extension" rc=2 out:empty 'err:1:^forms/dir/README\.md:'

# -v lists what was skipped, and only -v does.
run matrix -f skip.yaml
expect "unknown kinds are skipped silently" rc=0 err:empty
run matrix -v -f skip.yaml
expect "-v lists skipped kinds: another group's NetworkPolicy" rc=0 \
	'err:has:netward: skipped NetworkPolicy shop/calico-deny (skip.yaml:8): kind not modelled'
expect "-v lists skipped kinds: a ConfigMap inside a List" rc=0 'err:has:skipped ConfigMap shop/settings'
run_from forms/list.json matrix -v -f -
expect "-v on stdin names <stdin>" rc=0 'err:has:skipped ConfigMap shop/settings (<stdin>:'

# ---------------------------------------------------------------------------
echo "# malformed input: exit 2, FILE:LINE:COL: error: naming the field, nothing on stdout"

# FILE  LINE:COL  what the message must say (fixed text)
tested=" "
while read -r file pos text; do
	[[ -z $file || $file == '#'* ]] && continue
	tested="$tested$file "
	run matrix -f "bad/$file"
	expect "$file: exit 2 at $pos: $text" rc=2 out:empty \
		"err:1:^bad/${file//./\\.}:$pos: error: " "err:has:$text" \
		'err:~:^netward matrix: [0-9]+ errors? in the input; nothing evaluated$'
	# The same through stdin, can and explain: also exit 2, nothing on stdout.
	run_from "bad/$file" matrix -f -
	expect "$file on stdin: <stdin>:$pos" rc=2 out:empty "err:1:^<stdin>:$pos: error: "
	run can -f "bad/$file" shop/a shop/b 80
	expect "$file through can: exit 2" rc=2 out:empty "err:1:^bad/${file//./\\.}:$pos: error: "
	run explain -f "bad/$file" shop/a
	expect "$file through explain: exit 2" rc=2 out:empty "err:1:^bad/${file//./\\.}:$pos: error: "
done <<'EOF'
yaml-syntax.yaml               9:3   YAML syntax error: did not find expected ',' or '}' while parsing a flow mapping that starts at 8:16
yaml-tab.yaml                  6:1   YAML syntax error: found a tab character
yaml-control-char.yaml         5:11  YAML syntax error: control characters are not allowed (byte 0x07)
yaml-flow-as-json.yaml         1:2   JSON syntax error: invalid char in json text
json-syntax.json               7:3   JSON syntax error: invalid object key (must be a string)
json-eof.json                  5:29  JSON syntax error: premature EOF
cidr.yaml                     11:15  spec.ingress[0].from[0].ipBlock.cidr: Invalid value: "10.0.0.0/33"
cidr-noprefix.yaml            10:23  spec.egress[0].to[0].ipBlock.cidr: Invalid value: "192.168.1.1"
except-outside.yaml           14:11  spec.ingress[0].from[0].ipBlock.except[1]: Invalid value: "192.168.0.0/16": must be a strict subset of `cidr`
except-equal.yaml             10:44  ipBlock.except[0]: Invalid value: "10.0.0.0/8": must be a strict subset of `cidr`
endport-without-port.yaml     11:16  spec.ingress[0].ports[0].endPort: Invalid value: 9000: may not be specified when `port` is not specified
endport-named-port.yaml       11:16  spec.ingress[0].ports[0].endPort: Invalid value: 9000: may not be specified when `port` is non-numeric
endport-below-port.yaml       10:29  spec.egress[0].ports[0].endPort: Invalid value: 8000: must be greater than or equal to `port` (9000)
port-range.yaml               10:13  spec.ingress[0].ports[0].port: Invalid value: 65536: must be between 1 and 65535
policy-types.yaml              8:26  spec.policyTypes[1]: Unsupported value: "egress": supported values: "Ingress", "Egress"
protocol.yaml                 10:17  spec.ingress[0].ports[0].protocol: Unsupported value: "ICMP"
protocol-lowercase.yaml       10:18  spec.ingress[0].ports[0].protocol: Unsupported value: "tcp"
selector-operator.yaml        10:17  spec.podSelector.matchExpressions[0]: operator: "Equals" is not a valid label selector operator
selector-values-missing.yaml  12:11  namespaceSelector.matchExpressions[0]: values: Required value
selector-values-forbidden.yaml 11:15 spec.podSelector.matchExpressions[0]: values: Forbidden
selector-values-type.yaml     10:40  spec.podSelector.matchExpressions[0].values: expected a list, found string "web"
selector-label-value.yaml      9:12  spec.podSelector.matchLabels.app: invalid label value "web server"
unknown-field.yaml             8:3   spec: unknown field "ingres"
unknown-field-peer.yaml       12:9   spec.ingress[0].from[0].ipBlock: unknown field "exclude"
unknown-field.json             4:52  NetworkPolicy shop/web: metadata: unknown field "lables"
metadata-name-type.yaml        5:9   metadata.name: expected a string, found integer 404
wrong-type-list.yaml           9:5   spec.ingress: expected a list, found a map
wrong-type-port.yaml          10:13  spec.ingress[0].ports[0].port: expected an integer, found a list
wrong-type.json                7:41  spec.ingress[0].ports[0].protocol: expected a string, found integer 6
peer-ipblock-and-selector.yaml 10:7  spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer
yaml11-bool-label.yaml        10:14  spec.podSelector.matchLabels.debug: expected a string, found boolean true
yaml11-bool-protocol.yaml     11:18  spec.ingress[0].ports[0].protocol: expected a string, found boolean false
yaml11-quoted-port.yaml       11:13  spec.ingress[0].ports[0].port: Invalid value: "8080": must contain at least one letter
retired-api.yaml               1:13  apiVersion "extensions/v1beta1" is not served
no-kind.yaml                   1:1   kind: Required value
duplicate-key.yaml             8:3   duplicate key "podSelector"
pod-ip.yaml                   10:10  Pod shop/web: status: podIP: invalid IP address "10.0.0.256"
list-item.yaml                18:15  NetworkPolicy shop/web: spec.ingress[0].ports[0].port: Invalid value: 0
EOF

for f in bad/*; do
	[[ $tested == *" ${f#bad/} "* ]] || fail "bad/${f#bad/} is in the table above" "add it, with where its error is" /dev/null
done
run matrix -f bad/selector-values-type.yaml
expect "values of the wrong type: one error, not also 'Required'" rc=2 'err:has:netward matrix: 1 error in the input'
run matrix -f bad/metadata-name-type.yaml
expect "a name of the wrong type: one error, not also 'Required'" rc=2 'err:has:netward matrix: 1 error in the input'
run matrix -f bad/yaml-flow-as-json.yaml
expect "flow YAML that starts with {: read as JSON (as kubectl does), with a note" rc=2 \
	"err:has:bad/yaml-flow-as-json.yaml: note: input that starts with '{' is read as JSON, as kubectl reads it"
{ echo ---; cat bad/yaml-flow-as-json.yaml; } >"$tmp/flow.yaml"
run matrix -f "$tmp/flow.yaml"
expect "... and after a first line ---, as YAML" rc=0
for f in bad/*.json; do
	run matrix -f "$f"
	expect "${f#bad/}: the JSON error is one line, no blank one after it" rc=2 'err:!~:^$'
done
printf ' \n\n' >"$tmp/blank.json"
run matrix -f "$tmp/blank.json" -o json
expect "an empty .json file holds no objects, as an empty .yaml file" rc=0 'out:has:"pods":[]'

# One bad file in a directory fails the whole directory.
cp -r forms/dir "$tmp/dir"
cp bad/except-outside.yaml "$tmp/dir/policies/zz-bad.yaml"
run matrix -f "$tmp/dir"
expect "a directory with one bad file fails as a whole" rc=2 out:empty "err:1:^$tmp/dir/policies/zz-bad\.yaml:14:11: error:"
run can -f "$tmp/dir" shop/deployment/web shop/api api
expect "... for can too" rc=2 out:empty
run matrix -f forms/cluster.yaml -f bad/cidr.yaml
expect "one bad file among several -f fails as a whole" rc=2 out:empty 'err:1:^bad/cidr\.yaml:11:15: error:'

# ---------------------------------------------------------------------------
echo "# YAML 1.1: what the API server would read"

run explain -f yaml11.yaml shop/web
expect "0x10 16, 010 8, 0o11 9, 1_000 1000, ~ no port" rc=0 'out:has:ports: TCP 16, TCP 8, TCP 9, TCP 1000, UDP (every port)'
expect "a key on: is the label \"true\"" rc=0 'out:has:labels: app=web,true=yes'
for case in "16 0" "10 1" "8 0" "9 0" "11 1" "1000 0" "1001 1" "53/UDP 0" "53 1"; do
	read -r port want <<<"$case"
	run can -f yaml11.yaml shop/client shop/web "$port"
	expect "yaml11: can ... $port exits $want" "rc=$want"
done
run explain -f yaml11.yaml shop/node-agent
expect "hostNetwork: on is true" rc=0 'out:has:hostNetwork pods are never policy subjects'

# ---------------------------------------------------------------------------
echo "# can"

C=forms/cluster.yaml
run can -f $C shop/web-7d9f-a shop/api 8080
expect "allowed: exit 0" rc=0 'out:1:^ALLOWED shop/web-7d9f-a -> shop/api on 8080/TCP' \
	'out:has:egress  shop/web-7d9f-a: allowed by shop/web egress[0].to[0].ports[0] (forms/cluster.yaml:172:5)' \
	'out:has:ingress shop/api: allowed by shop/api ingress[0].from[0].ports[0] (forms/cluster.yaml:188:5)' err:empty
run can -f $C shop/api shop/web-7d9f-a 8080
expect "denied: exit 1, the isolating policy and why no rule matched" rc=1 'out:1:^DENIED  shop/api -> shop/web-7d9f-a on 8080/TCP' \
	'out:has:ingress shop/web-7d9f-a: DENIED: isolated by shop/web; no rule matches' \
	'out:has:shop/web ingress[0]: peer matches, but the port is not among: TCP http (=80 on web-7d9f-a)'
run can -f $C tools/debug shop/api 8080
expect "denied both ways: each isolating policy, each rule, why" rc=1 \
	'out:has:tools/egress egress[0]: to[0] ipBlock 0.0.0.0/0 except 10.0.0.0/8: 10.1.0.3 is excepted' \
	'out:has:tools/egress egress[1]: to[0] podSelector {app=web} does not match the pod (app=api)' \
	'out:has:ingress shop/api: DENIED: isolated by shop/api; no rule matches' \
	'out:has:shop/api ingress[0]: from[0] podSelector {app=web} without namespaceSelector only selects pods in shop, and the pod is in tools'
run can -f $C shop/api data/statefulset/db 5432
expect "NS/statefulset/NAME: the template pod" rc=0 'out:has:ALLOWED shop/api -> data/db-0 on 5432/TCP' \
	'out:has:egress  shop/api: allowed: no NetworkPolicy selects it for egress'
run can -f $C shop/deployment/web shop/api api
expect "NS/deployment/NAME and a named port: every member pod" rc=0 \
	'out:1:^ALLOWED for all 2 pod pairs of shop/deployment/web -> shop/api, each alike:' 'out:has:on 8080/TCP (api)'
run can -f $C shop/deploy/web shop/api 8080/tcp
expect "kubectl's short kind names and a lower-case protocol" rc=0
run can -f $C shop/web-7d9f-a shop/service/api http
expect "NS/service/NAME: the service port maps to the backends' targetPort" rc=0 'out:has:on 8080/TCP (http)'
run can -f $C shop/web-7d9f-a shop/api metrics/UDP
expect "a named UDP port" rc=1 'out:has:DENIED  shop/web-7d9f-a -> shop/api on 9100/UDP (metrics/UDP)'
run can -f $C shop/web-7d9f-a shop/api nosuchport
expect "a port name the destination lacks: denied, and why" rc=1 \
	'out:has:port nosuchport: the destination has no port of that name and protocol'
run can -f $C tools/debug 8.8.8.8 443
expect "an external IP: egress decides" rc=0 'out:has:ALLOWED tools/debug -> 8.8.8.8 on 443/TCP  [10.1.0.9 -> 8.8.8.8]' \
	'out:has:ingress (outside the cluster: no policy applies)'
run can -f $C tools/debug 8.8.8.8 8500
expect "an external IP inside an endPort range" rc=0
run can -f $C tools/debug 10.2.3.4 443
expect "an external IP in ipBlock except: denied" rc=1 'out:has:ipBlock 0.0.0.0/0 except 10.0.0.0/8: 10.2.3.4 is excepted'
run can -f $C 10.1.0.9 10.1.0.1 80
expect "a pod's IP means that pod" rc=0 'out:1:^ALLOWED tools/debug -> shop/web-7d9f-a on 80/TCP'
run can -f $C 203.0.113.7 shop/web-7d9f-a 80
expect "from an external IP: ingress decides" rc=0 'out:has:egress  (outside the cluster: no policy applies)'
run can -f $C shop/api shop/api 9999
expect "a pod to itself: always allowed" rc=0 'out:has:a pod can always reach itself'
run can -f $C shop/web-7d9f-a shop/api
expect "no PORT: the allowed ports per protocol" rc=1 'out:1:^LIMITED' 'out:has:TCP   ports allowed: 8080' 'out:has:UDP   ports allowed: none'
run can -f $C data/db-0 tools/debug
expect "no PORT, nothing isolates: allowed" rc=0 'out:1:^ALLOWED' 'out:has:TCP   ports allowed: all'

run can -f $C -o json shop/web-7d9f-a shop/api 8080
expect "-o json: exit 0" rc=0 err:empty
python3 - "$tmp/out" <<'PY' >"$tmp/py" 2>&1
import json, sys
v = json.load(open(sys.argv[1]))
assert v["kind"] == "Verdict" and v["allowed"] is True, v
assert v["from"] == "shop/web-7d9f-a" and v["to"] == "shop/api" and v["port"] == "8080", v
p, = v["pairs"]
assert p["allowed"] is True and p["port"] == "8080/TCP" and p["fromIP"] == "10.1.0.1" and p["toIP"] == "10.1.0.3", p
assert p["egress"]["allowedBy"][0] == {"policy": "shop/web", "rule": "egress[0].to[0].ports[0]",
                                      "location": "forms/cluster.yaml:172:5"}, p["egress"]
assert p["ingress"]["isolatedBy"] == ["shop/api"], p["ingress"]
PY
python_ok "-o json: the verdict and the deciding rules" "$tmp/py"
run can -f $C -o json shop/api shop/web-7d9f-a 8080
expect "-o json denied: exit 1" rc=1
python3 - "$tmp/out" <<'PY' >"$tmp/py" 2>&1
import json, sys
v = json.load(open(sys.argv[1]))
assert v["allowed"] is False, v
p, = v["pairs"]
ing = p["ingress"]
assert ing["isolated"] is True and ing["allowed"] is False and ing["isolatedBy"] == ["shop/web"], ing
assert ing["notMatched"] == [{"policy": "shop/web", "rule": "ingress[0]",
                              "reason": "peer matches, but the port is not among: TCP http (=80 on web-7d9f-a)"}], ing
PY
python_ok "-o json denied: notMatched says why" "$tmp/py"
run can -f $C -o json shop/deployment/web data/db-0
expect "-o json without PORT: allowedPorts per pair" rc=1 'out:has:"allowedPorts":{"TCP":[],"UDP":[],"SCTP":[]}'
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" 2>"$tmp/py"
python_ok "... and it parses" "$tmp/py"

# Usage errors: exit 2, a message, nothing on stdout.
while IFS='|' read -r desc args; do
	read -r -a argv <<<"$args"
	run can -f $C "${argv[@]}"
	expect "can: ${desc%"${desc##*[! ]}"}: exit 2" rc=2 out:empty 'err:1:^netward can: '
done <<'EOF'
one argument              | shop/api
four arguments            | shop/api shop/api 80 90
port 0                    | shop/api shop/api 0
port 65536                | shop/api shop/api 65536
a port name in capitals   | shop/api shop/api Metrics
a protocol that is not one| shop/api shop/api 80/ICMP
an empty protocol         | shop/api shop/api 80/
no pod of that name       | shop/nope shop/api 80
no workload of that name  | shop/deployment/nope shop/api 80
an unknown kind           | shop/gadget/web shop/api 80
not NS/POD                | shop shop/api 80
both outside the cluster  | 1.2.3.4 5.6.7.8 80
an address range          | shop/api 10.0.0.0/8 80
-o yaml                   | -o yaml shop/api shop/api 80
EOF
run can -f $C shop/api 10.0.0.0/8 80
expect "can: an address range is called that" rc=2 'err:1:"10\.0\.0\.0/8" is an address range; give one IP address'

# ---------------------------------------------------------------------------
echo "# matrix"

run matrix -f $C -p 80 -p 8080/TCP -p 9100/udp
expect "-o table (default): a grid and a legend" rc=0 "out:1:^'\\.' allowed, 'X' denied; rows: from, columns: to" \
	'out:has:80/TCP: 13 of 25 pairs allowed' 'out:has:9100/UDP:' \
	'out:~:^shop/api +X +\. +\. +\. +\. *$' err:empty
awk 'length > 100 { bad = 1 } END { exit bad }' "$tmp/out"
expect "-o table fits a terminal (no line over 100 columns)" rc=0
run matrix -f $C -p 80 -p 8080/TCP -p 9100/udp -o json
expect "-o json: exit 0" rc=0 err:empty
cp "$tmp/out" "$tmp/matrix.json"
python3 - "$tmp/matrix.json" <<'PY' >"$tmp/py" 2>&1
# The CLI contract (ARCHITECTURE.md): {"kind":"Matrix","ports":["80/TCP"],
# "pods":["x/a",...],"results":[{"from":"x/a","to":"y/b","port":"80/TCP",
# "allowed":true},...]}; "source" (evaluator, plan or observed) is the one
# addition docs/cli.md documents.
import json, sys
m = json.load(open(sys.argv[1]))
assert set(m) <= {"kind", "source", "ports", "pods", "results"} and set(m) >= {"kind", "ports", "pods", "results"}, sorted(m)
assert m["kind"] == "Matrix", m["kind"]
assert m.get("source", "evaluator") == "evaluator", m["source"]
assert m["ports"] == ["80/TCP", "8080/TCP", "9100/UDP"], m["ports"]
pods = ["data/db-0", "shop/api", "shop/web-7d9f-a", "shop/web-7d9f-b", "tools/debug"]
assert m["pods"] == pods, m["pods"]
pairs = {}
for r in m["results"]:
    assert set(r) == {"from", "to", "port", "allowed"}, r
    assert r["from"] in pods and r["to"] in pods and r["port"] in m["ports"], r
    assert isinstance(r["allowed"], bool), r
    key = (r["from"], r["to"], r["port"])
    assert key not in pairs, ("twice", key)
    pairs[key] = r["allowed"]
assert len(pairs) == len(pods) ** 2 * len(m["ports"]), len(pairs)
assert pairs[("shop/web-7d9f-a", "shop/api", "8080/TCP")] is True
assert pairs[("shop/api", "shop/web-7d9f-a", "8080/TCP")] is False
assert pairs[("tools/debug", "shop/web-7d9f-b", "80/TCP")] is True
assert pairs[("shop/web-7d9f-a", "shop/api", "9100/UDP")] is False
assert all(pairs[(p, p, q)] for p in pods for q in m["ports"]), "self pairs"
PY
python_ok "-o json is exactly the CLI contract" "$tmp/py"

run matrix -f $C -p 80 -p 8080/TCP -p 9100/udp -o csv
expect "-o csv: a header" rc=0 'out:1:^from,to,port,allowed$' 'out:has:shop/web-7d9f-a,shop/api,8080/TCP,true'
python3 - "$tmp/matrix.json" "$tmp/out" <<'PY' >"$tmp/py" 2>&1
import csv, json, sys
m = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
want = {(r["from"], r["to"], r["port"]): r["allowed"] for r in m["results"]}
got = {(r["from"], r["to"], r["port"]): r["allowed"] == "true" for r in rows}
assert len(rows) == len(want) and got == want, "csv and json differ"
PY
python_ok "-o csv says what -o json says" "$tmp/py"
run matrix -f $C -p 8080 -o md
expect "-o md: a Markdown table per port" rc=0 'out:has:### 8080/TCP' \
	'out:has:| from \ to | data/db-0 | shop/api | shop/web-7d9f-a | shop/web-7d9f-b | tools/debug |' \
	'out:has:| **shop/web-7d9f-a** | X | . | . | X | X |'
run matrix -f $C -p 80 -p 80/TCP -p 80/tcp -o json
expect "-p 80 -p 80/TCP -p 80/tcp: asked once" rc=0 'out:has:"ports":["80/TCP"],'
run matrix -f $C -o json
expect "no -p: every declared container port" rc=0 'out:has:"ports":["80/TCP","5432/TCP","8080/TCP","9100/UDP"]'
run matrix -f $C -n shop -o csv -p 80
expect "-n NS: only that namespace's pods" rc=0 'out:lacks:tools/debug' 'out:has:shop/api,shop/web-7d9f-a,80/TCP,true'
run matrix -f $C --default-deny cluster -p 80 -o csv
expect "--default-deny cluster: tools/debug loses shop/api" rc=0 'out:has:tools/debug,shop/web-7d9f-a,80/TCP,true' 'out:has:data/db-0,shop/api,80/TCP,false'
run matrix -f $C --engine plan -p 80 -p 8080 -p 5432 -p 9100/UDP -o json
python3 - "$tmp/matrix.json" "$tmp/out" <<'PY' >"$tmp/py" 2>&1
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
pa = {(r["from"], r["to"], r["port"]): r["allowed"] for r in a["results"]}
pb = {(r["from"], r["to"], r["port"]): r["allowed"] for r in b["results"]}
assert b["source"] == "plan", b.get("source")
assert {k: v for k, v in pb.items() if k in pa} == pa, "the compiled plans disagree with the evaluator"
PY
python_ok "--engine plan agrees with the evaluator" "$tmp/py"

while IFS='|' read -r desc args; do
	read -r -a argv <<<"$args"
	run matrix -f $C "${argv[@]}"
	expect "matrix: ${desc%"${desc##*[! ]}"}: exit 2" rc=2 out:empty 'err:1:^netward matrix: '
done <<'EOF'
a named -p               | -p http
-p 0                     | -p 0
-p 65536                 | -p 65536
-o yaml                  | -o yaml
an argument              | shop/api
--engine nonsense        | --engine nonsense
--family 5               | --family 5
--default-deny sometimes | --default-deny sometimes
EOF

# ---------------------------------------------------------------------------
echo "# explain"

run explain -f $C shop/api
expect "explain NS/POD: policies, isolation, rules with peers resolved" rc=0 'out:1:^Pod shop/api$' \
	'out:has:addresses: 10.1.0.3' 'out:has:ports: 8080/TCP=api 9100/UDP=metrics' \
	'out:has:Ingress: isolated by 1 policy' 'out:has:shop/api (forms/cluster.yaml:179:1)' \
	'out:has:ports: TCP api (=8080 on api)' \
	'out:has:-> 2 pods: shop/web-7d9f-a, shop/web-7d9f-b' 'out:has:Egress: not isolated' err:empty
run explain -f $C tools/debug
expect "explain: ipBlock except resolved to ranges" rc=0 \
	'out:has:ipBlock 0.0.0.0/0 except 10.0.0.0/8 = 0.0.0.0-9.255.255.255, 11.0.0.0-255.255.255.255' \
	'out:has:ports: TCP 443, TCP 8000-8999'
run explain -f $C shop/deployment/web
expect "explain NS/KIND/NAME: each member pod" rc=0 'out:has:Pod shop/web-7d9f-a' 'out:has:Pod shop/web-7d9f-b'
run explain -f $C -o json data/db-0
expect "explain -o json" rc=0 'out:has:"kind":"Explanation"'
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/out" 2>"$tmp/py"
python_ok "... and it parses" "$tmp/py"
run explain -f $C shop/nope
expect "explain: no such pod: exit 2, the pods there" rc=2 out:empty 'err:has:pods in shop: api, web-7d9f-a, web-7d9f-b'
run explain -f $C shop/api tools/debug
expect "explain: two pods: exit 2" rc=2 out:empty

# ---------------------------------------------------------------------------
echo "# compile"

run compile -f $C --node node-1
expect "compile --node: nft text" rc=0 'out:1:^table inet netward \{' err:empty
cp "$tmp/out" "$tmp/node-1.nft"
if [[ $(id -u) != 0 ]]; then
	skip "compile output loads with nft -c -f" "nft -c needs root"
elif ! command -v nft >/dev/null; then
	skip "compile output loads with nft -c -f" "no nft(8)"
else
	for opts in "--node node-1" "--node node-2" "--all" "--all --replace" "--all --default-deny cluster"; do
		read -r -a argv <<<"$opts"
		run compile -f $C "${argv[@]}" -o nft
		cp "$tmp/out" "$tmp/t.nft"
		if nft -c -f "$tmp/t.nft" >"$tmp/nft.err" 2>&1; then
			pass "compile $opts -o nft loads with nft -c -f"
		else
			fail "compile $opts -o nft loads with nft -c -f" "nft -c rejected it" "$tmp/nft.err"
		fi
	done
fi
run compile -f $C --all -o json
expect "compile -o json" rc=0 'out:~:"kind" *: *"'
python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); assert d["pods"], d' "$tmp/out" 2>"$tmp/py"
python_ok "... and it parses, with the pods" "$tmp/py"

# ---------------------------------------------------------------------------
echo "# hostile input never crashes"

mkdir -p "$tmp/hostile"
python3 - "$tmp/hostile" <<'PY'
import json, os, sys
d = sys.argv[1]
def w(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
for i in range(1, 12):
    lines.append('%s: &%s [%s]' % (chr(97 + i), chr(97 + i), ",".join(["*" + chr(96 + i)] * 9)))
w("alias-bomb.yaml", "\n".join(lines) + "\n")
w("deep-flow.yaml", "[" * 100000 + "\n")
w("deep.json", "[" * 100000 + "\n")
w("deep-block.yaml", "".join("  " * i + "a:\n" for i in range(400)))
w("binary.yaml", bytes(range(256)) * 4)
w("nul-in-name.yaml", b'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "a\\0b"\n')
w("nul-byte.yaml", b"apiVersion: v1\nkind: Names\x00pace\nmetadata:\n  name: a\n")
w("bad-utf8.yaml", b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: \xc3\x28\n")
w("utf16.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n".encode("utf-16"))
w("huge-int.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\n"
  "spec: {containers: [{name: c, ports: [{containerPort: 0x" + "f" * 40 + "}]}]}\n")
w("huge-int.json", '{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}, '
  '"spec": {"containers": [{"name": "c", "ports": [{"containerPort": 1' + "0" * 400 + '}]}]}}')
w("long-key.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    " + "k" * 100000 + ": v\n")
w("empty.yaml", "")
w("empty.json", "")
w("separators.yaml", "---\n---\n...\n---\n")
w("scalar-docs.yaml", "a: b\n---\n- 1\n---\n\"scalar\"\n---\n~\n")
w("merge-keys.yaml", "a: &a {x: 1}\nb: &b {<<: [*a, *a, *a]}\nc: {<<: [*b, *b]}\nd: {<<: 5}\n")
w("self-alias.yaml", "a: &x [*x]\n")
w("unknown-alias.yaml", "a: *nope\n")
w("tags.yaml", "apiVersion: !!binary aGVsbG8=\nkind: !custom Namespace\n")
w("map-keys.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n  labels:\n    [1,2]: x\n    ? {a: b}\n    : y\n    1: x\n    0x1: y\n")
nested = {"apiVersion": "v1", "kind": "List", "items": []}
cur = nested
for _ in range(20):
    nxt = {"apiVersion": "v1", "kind": "List", "items": []}
    cur["items"].append(nxt)
    cur = nxt
w("nested-lists.json", json.dumps(nested))
w("list-of-garbage.yaml", "apiVersion: v1\nkind: List\nitems: [1, null, [], {}, {kind: Pod}, {apiVersion: v1}]\n")
w("items-not-a-list.yaml", "apiVersion: v1\nkind: PodList\nitems: {a: b}\n")
w("policy-everything-wrong.yaml", """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: "", namespace: "Bad_NS", labels: [x]}
spec:
  podSelector: {matchExpressions: [{key: "", operator: In, values: [1, null, {a: b}]}, 7]}
  policyTypes: [Ingress, Egress, Both]
  ingress: [7, {from: [7, {ipBlock: {cidr: "::/129", except: ["x", 5, null]}}], ports: [7, {port: -1, endPort: 70000}, {port: {a: b}}]}]
  egress: [{to: [{ipBlock: {}}, {podSelector: null, namespaceSelector: null}], ports: [{protocol: "", port: ""}]}]
""")
w("workloads-wrong.yaml", """apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: x}
spec: {replicas: -5, selector: {matchLabels: {a: b}}, template: {metadata: {labels: [1]}, spec: {containers: 5}}}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: c, namespace: x}
spec: {jobTemplate: 5}
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: x}
spec: {selector: [1], ports: [{port: 0, targetPort: -1}, 5, {port: 80, targetPort: "Bad Name"}], clusterIP: "nope"}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: x, ownerReferences: [5, {kind: 7}]}
spec: {containers: [{ports: [{containerPort: 80, name: a}, {containerPort: 81, name: a}, 7]}], initContainers: 5}
status: {podIPs: [{ip: "1.2.3.4"}, {ip: "::1"}, {ip: "1.2.3.5"}, 5, {ip: "x"}], podIP: "fe80::1"}
""")
PY
for f in "$tmp"/hostile/*; do
	name=${f##*/}
	run matrix -f "$f"
	if crashed || [[ $rc != 0 && $rc != 2 ]]; then
		fail "hostile $name: exit 0 or 2, no crash" "exit $rc"
	elif [[ $rc == 2 ]] && { [[ -s $tmp/out ]] || ! grep -qE '^.+:[0-9]+:[0-9]+: error: ' "$tmp/err"; }; then
		fail "hostile $name: an error has a location and leaves stdout empty" "exit $rc"
	else
		pass "hostile $name: exit $rc, no crash"
	fi
done
run matrix -f "$tmp/hostile/nul-in-name.yaml"
expect "a NUL inside a name is an error, not a shorter name" rc=2 'err:has:metadata.name: Invalid value: a NUL character inside "a..."'
run_from "$tmp/hostile/binary.yaml" can -f - a/b c/d
expect "hostile binary on stdin through can: exit 2" rc=2 out:empty
run_from "$tmp/hostile/policy-everything-wrong.yaml" explain -f - a/b
expect "hostile policy on stdin through explain: exit 2" rc=2 out:empty
run_from "$tmp/hostile/workloads-wrong.yaml" compile -f - --all
expect "hostile workloads on stdin through compile: exit 2" rc=2 out:empty

# ---------------------------------------------------------------------------
echo "# README.md and docs/quickstart.md, as written"

# Every netward command of README.md's and the quick start's sh blocks, as
# written, from a directory whose manifests/ is the repository's: an answer
# (exit 0 or 1) on stdout, never a usage or input error. A pipe from kubectl
# gets the demo's manifests instead. Commands that need root to build a lab or
# program the kernel are the lab's and the integration tests' to run.
mkdir -p "$tmp/docs"
ln -s "$src/manifests" "$tmp/docs/manifests"
cd "$tmp/docs" || exit 1
for doc in README.md docs/quickstart.md; do
	awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on' "$src/$doc" |
		sed -n 's/  *# .*//; s/^sudo //; s/^\(\.\/build\/\)\{0,1\}netward /netward /p; s/^.*| *netward /piped netward /p' >"$tmp/cmds"
	[[ -s $tmp/cmds ]] || fail "$doc: its sh blocks show netward commands" "none found" /dev/null
	while read -r line; do
		read -r -a argv <<<"$line"
		if [[ ${argv[0]} == piped ]]; then
			argv=("${argv[@]:1}")
			stdin=$src/manifests/examples/demo/00-app.yaml
		fi
		case " ${argv[*]} " in
		*" learn "*" --duration "*)
			skip "$doc: ${argv[*]}" "captures live traffic (root, a cluster)"
			continue
			;;
		*" apply "* | *" lab "* | *" --lab "*)
			skip "$doc: ${argv[*]}" "needs root, and builds a lab or programs the kernel"
			stdin=/dev/null
			continue
			;;
		esac
		run "${argv[@]:1}"
		stdin=/dev/null
		if crashed || [[ $rc != 0 && $rc != 1 ]] || [[ ! -s $tmp/out ]]; then
			fail "$doc: ${argv[*]}" "want an answer: exit 0 or 1, and output"
		else
			pass "$doc: ${argv[*]}"
		fi
	done <"$tmp/cmds"
done

cd "$src" || exit 1
run can -f manifests/examples/demo/ shop/deployment/frontend shop/deployment/backend 8080
expect "README: netward can ... frontend backend 8080: exit 0" rc=0 'out:1:^ALLOWED shop/frontend -> shop/backend on 8080/TCP'

run matrix -f manifests/examples/demo/
sed -n '/^\$ netward matrix -f manifests\/examples\/demo\/$/,/^\.\.\.$/p' docs/quickstart.md | sed '1d;$d' >"$tmp/want"
head -n "$(wc -l <"$tmp/want")" "$tmp/out" >"$tmp/got"
same "quickstart: netward matrix -f manifests/examples/demo/ prints what it shows" "$tmp/want" "$tmp/got"
run can -f manifests/examples/demo/ sandbox/intruder data/db-0 5432
sed -n '/^\$ netward can -f manifests\/examples\/demo\/ sandbox\/intruder data\/db-0 5432$/,/^\$ echo/p' docs/quickstart.md |
	sed '1d;$d' >"$tmp/want"
same "quickstart: netward can ... sandbox/intruder data/db-0 5432 prints what it shows" "$tmp/want" "$tmp/out"
expect "quickstart: ... and exits 1" rc=1
cd "$data/docs" || exit 1
run matrix -f bad.yaml
sed -n '/^\$ netward matrix -f bad.yaml$/,/^```$/p' "$src/docs/quickstart.md" | sed '1d;$d' >"$tmp/want"
same "quickstart: the input error it shows, for a bad.yaml that has it" "$tmp/want" "$tmp/err"
expect "quickstart: ... exit 2" rc=2 out:empty
cd "$data" || exit 1

# ---------------------------------------------------------------------------
echo "1..$n"
echo "# cli: $((n - failed)) passed, $failed failed"
exit $((failed > 0))
