#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   unit (Criterion), conformance (evaluator, compiled plans, and the lab with real
#   packets), integration (root: real nftables, real traffic in network namespaces),
#   all of them again under AddressSanitizer + UndefinedBehaviorSanitizer, a short
#   libFuzzer run of every decoder, and the benchmarks' smoke run.
# Run as root. Prints "tests: N passed, M failed" last; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh || exit 3
if [ "$(id -u)" -ne 0 ]; then
	echo "test: the integration and lab tests need root (network namespaces, nftables)" >&2
	exit 3
fi

passed=0
failed=0
netns_before=$(ls /run/netns 2>/dev/null | grep '^nwl-' | sort)
step() { echo; echo "==> $*"; }
record() { # name status
	if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $1" >&2; fi
}
count_meson() { # build dir: adds meson's per-test results to the totals
	local log="$1/meson-logs/testlog.json" ok bad
	[ -f "$log" ] || return
	ok=$(grep -c '"result": "OK"' "$log" || true)
	bad=$(grep -Ec '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
}

step "build (warnings are errors)"
scripts/build.sh
record build $?

step "release build (what manifests/Containerfile builds: -O3, warnings are errors)"
if [ ! -f build-release/build.ninja ]; then
	meson setup build-release --buildtype=release -Dtests=disabled -Dwerror=true >/dev/null
fi
ninja -C build-release >/dev/null
record release-build $?

step "tests"
meson test -C build --no-rebuild --print-errorlogs --num-processes 2
count_meson build

step "tests under AddressSanitizer + UndefinedBehaviorSanitizer"
if [ ! -f build-asan/build.ninja ]; then
	meson setup build-asan --buildtype=debug -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
		-Darena_malloc=true -Dc_args=-fno-sanitize-recover=all -Dc_args=-fno-omit-frame-pointer >/dev/null
fi
ninja -C build-asan >/dev/null
record asan-build $?
meson test -C build-asan --no-rebuild --print-errorlogs --num-processes 2 --suite unit --suite conformance --suite integration
count_meson build-asan

step "fuzzing (libFuzzer, ${FUZZ_SECONDS:=30} s per decoder)"
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz --buildtype=debug -Dfuzz=true -Dtests=disabled -Darena_malloc=true >/dev/null
fi
ninja -C build-fuzz >/dev/null
record fuzz-build $?
for f in build-fuzz/tests/fuzz/fuzz_*; do
	[ -f "$f" ] && [ -x "$f" ] || continue
	name=$(basename "$f")
	corpus=$(mktemp -d)
	cp tests/fuzz/corpus/"${name#fuzz_}"/* "$corpus"/ 2>/dev/null || true
	"$f" -max_total_time="$FUZZ_SECONDS" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=build-fuzz/"$name"- "$corpus" >build-fuzz/"$name".log 2>&1
	status=$?
	tail -n 1 build-fuzz/"$name".log
	[ $status -eq 0 ] || tail -n 40 build-fuzz/"$name".log >&2
	record "$name" $status
	rm -rf "$corpus"
done

step "benchmarks (smoke runs, about two minutes; the figures are in docs/performance.md: bench/run)"
bench/run --quick --prefix "bs$(($$ % 100000))" # lab names: at most 16 characters
record bench-smoke $?

# Nothing may be left behind (labs that were up before this run are not ours).
left=$(comm -13 <(printf '%s\n' "$netns_before") <(ls /run/netns 2>/dev/null | grep '^nwl-' | sort))
if [ -n "$left" ]; then
	echo "test: lab network namespaces were left behind:" $left >&2
	for ns in $left; do ip netns delete "$ns"; done
	record cleanup 1
fi

echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
