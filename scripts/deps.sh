#!/usr/bin/env bash
# Installs the Debian packages netward needs to build, test and run its lab,
# skipping the ones already installed. Needs root (apt-get).
set -euo pipefail

packages=(
	# build
	gcc clang meson ninja-build pkg-config
	# libraries: manifests (libyaml, yajl), kernel (libnftnl, libmnl),
	# Kubernetes API (libcurl), capture (libpcap), tests (Criterion)
	libyaml-dev libyajl-dev libnftnl-dev libmnl-dev libcurl4-openssl-dev libpcap-dev libcriterion-dev
	# running and checking: nft(8) for the loadability tests, iproute2 for humans,
	# and for the benchmarks (bench/run): iperf3, time, jq, and iptables + ipset for
	# the iptables enforcer netward is measured against
	nftables iproute2 iperf3 time jq iptables ipset
	# the agent tests: a test API server (python3) over TLS (openssl makes its certificates);
	# the netward test/lint tests: the kubectl stand-in (PyYAML) and report checks (xmllint)
	python3 openssl python3-yaml libxml2-utils
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages are installed"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run as root (sudo $0)" >&2
	exit 3
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
