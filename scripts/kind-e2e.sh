#!/usr/bin/env bash
# End to end in a local kind cluster, as the kind job of docs/ci.md does in
# GitHub Actions: create the cluster, build the netward image and load it,
# deploy netward (manifests/), apply the demo shop, wait for it, and run
#   netward test --kube manifests/examples/kind-shop.test.yaml --junit ...
# Needs docker (or podman), kind and kubectl. The cluster is deleted at the
# end unless KEEP=1.
#
# Environment:
#   CLUSTER            kind cluster name (default netward-e2e)
#   NETWARD_IMAGE      image tag to build and load (default netward:e2e)
#   NETWARD_BUILD      the Containerfile (default manifests/Containerfile)
#   NETWARD_DEPLOY     what to kubectl apply for netward itself (default
#                      manifests/netward.yaml); its image is set to NETWARD_IMAGE
#   KIND_CONFIG        kind cluster config (default manifests/kind.yaml if present)
#   SPEC               the ConnectivityTest (default manifests/examples/kind-shop.test.yaml)
#   APP                the manifests to apply (default: the spec's app, kind-shop/ + demo policies)
#   JUNIT              where the JUnit report goes (default build/kind-e2e.xml)
# Exit status: netward test's (0 passed, 1 failed, 2 spec error, 3 environment
# error); 3 also when a tool is missing or the cluster cannot be set up.
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${CLUSTER:-netward-e2e}
NETWARD_IMAGE=${NETWARD_IMAGE:-netward:e2e}
NETWARD_BUILD=${NETWARD_BUILD:-manifests/Containerfile}
NETWARD_DEPLOY=${NETWARD_DEPLOY:-manifests/netward.yaml}
SPEC=${SPEC:-manifests/examples/kind-shop.test.yaml}
APP=${APP:-manifests/examples/kind-shop manifests/examples/demo/01-default-deny.yaml manifests/examples/demo/02-least-privilege.yaml}
JUNIT=${JUNIT:-build/kind-e2e.xml}
ENGINE=${ENGINE:-$(command -v docker || command -v podman || true)}

need() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "kind-e2e: $1 is not installed ($2)" >&2
		exit 3
	fi
}
need kind "https://kind.sigs.k8s.io"
need kubectl "the Kubernetes CLI"
[ -n "$ENGINE" ] || { echo "kind-e2e: no docker or podman: kind needs a container engine" >&2; exit 3; }
"$ENGINE" info >/dev/null 2>&1 || { echo "kind-e2e: $ENGINE is installed but its engine is not running" >&2; exit 3; }

step() { echo; echo "==> $*"; }

step "build netward (for the test runner on this machine)"
scripts/build.sh >/dev/null

cleanup() {
	if [ "${KEEP:-0}" = 1 ]; then
		echo "kind-e2e: keeping cluster $CLUSTER (kind delete cluster --name $CLUSTER)"
	else
		kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

step "create kind cluster $CLUSTER"
config=()
if [ -n "${KIND_CONFIG:-}" ]; then
	config=(--config "$KIND_CONFIG")
elif [ -f manifests/kind.yaml ]; then
	config=(--config manifests/kind.yaml)
fi
kind get clusters 2>/dev/null | grep -qx "$CLUSTER" || kind create cluster --name "$CLUSTER" "${config[@]}" --wait 120s || exit 3
kubectl config use-context "kind-$CLUSTER" >/dev/null

step "turn kindnet's own NetworkPolicy enforcement off (netward enforces)"
# kindnetd embeds kube-network-policies, on by default (--network-policy=true).
if kubectl -n kube-system get daemonset kindnet >/dev/null 2>&1; then
	kubectl -n kube-system patch daemonset kindnet --type json \
		-p '[{"op":"add","path":"/spec/template/spec/containers/0/args","value":["--network-policy=false"]}]' \
		>/dev/null || exit 3
	kubectl -n kube-system rollout status daemonset kindnet --timeout=120s || exit 3
	# Its table stays behind (it fails open: queue bypass, so it accepts); remove it anyway.
	for node in $(kind get nodes --name "$CLUSTER"); do
		"$ENGINE" exec "$node" nft delete table inet kindnet-network-policies 2>/dev/null || true
	done
fi

step "build and load $NETWARD_IMAGE"
if [ -f "$NETWARD_BUILD" ]; then
	"$ENGINE" build -f "$NETWARD_BUILD" -t "$NETWARD_IMAGE" . || exit 3
	kind load docker-image "$NETWARD_IMAGE" --name "$CLUSTER" || exit 3
else
	echo "kind-e2e: no $NETWARD_BUILD: not deploying netward (the test then checks the cluster's own enforcement)" >&2
fi

if [ -f "$NETWARD_DEPLOY" ] && [ -f "$NETWARD_BUILD" ]; then
	step "deploy netward ($NETWARD_DEPLOY)"
	kubectl apply -f "$NETWARD_DEPLOY" || exit 3
	# Point the DaemonSet at the image just loaded, wherever its manifest expects it.
	for ds in $(kubectl get daemonsets -A -l app.kubernetes.io/name=netward -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{" "}{end}'); do
		kubectl -n "${ds%%/*}" set image "daemonset/${ds#*/}" "*=$NETWARD_IMAGE" >/dev/null
		kubectl -n "${ds%%/*}" rollout status "daemonset/${ds#*/}" --timeout=180s || exit 3
	done
fi

step "apply the app"
for f in $APP; do
	kubectl apply -f "$f" || exit 3
done
for ns in $(kubectl get deploy,statefulset -A --no-headers -o custom-columns=NS:.metadata.namespace | sort -u); do
	kubectl -n "$ns" rollout status deploy --timeout=180s 2>/dev/null || true
	kubectl -n "$ns" rollout status statefulset --timeout=180s 2>/dev/null || true
done
kubectl wait --for=condition=Ready pod --all -A --timeout=180s >/dev/null || exit 3

step "netward test --kube $SPEC"
mkdir -p "$(dirname "$JUNIT")"
set +e
build/netward test --kube --junit "$JUNIT" "$SPEC"
rc=$?
set -e
echo "kind-e2e: JUnit report in $JUNIT; netward test exited $rc"
exit $rc
