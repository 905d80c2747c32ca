#!/usr/bin/env bash
# The test suite's sanitizer builds (docs/RELIABILITY.md, "Sanitizers"):
# AddressSanitizer and ThreadSanitizer builds (debug, each in its own scratch path .build-asan / .build-tsan,
# the SDK package and every plugin instrumented too) running a subset: the engine
# (its parallel kernels), the data layer (readers, batch loader, decode cache), the
# fuzz tests, and the checkpoint tests (which run the instrumented `cil`, dlopening
# instrumented plugins). Prints each phase's wall time.
#
#   .ci/sanitizers.sh            both
#   .ci/sanitizers.sh address    one of them
set -euo pipefail
cd "$(dirname "$0")/.."

# LeakSanitizer reports the Swift runtime's and libraries' deliberate process-lifetime
# allocations (plugins are never unloaded): leaks are not what this checks.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
# Fail the test process at the first race report.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}"

declare -A filters=(
    [address]='EngineTests|DataTests|CheckpointReaderFuzzTests|ExperimentFileFuzzTests|RunReliabilityTests/corruptOrTruncatedCheckpointIsRefused|RunReliabilityTests/checkpointFromAnotherSDKOrConfigurationIsRefused'
    [thread]='EngineTests|DataTests|CheckpointReaderFuzzTests|ExperimentFileFuzzTests'
)

declare -A short=([address]=asan [thread]=tsan)
# TSan cannot see Synchronization.Mutex on Linux: the engine's buffer pool uses a
# pthread-based lock in the TSan build instead (Sources/SDK/.../BufferPool.swift).
declare -A extra=([address]="" [thread]="-Xswiftc -DCIL_TSAN")
sanitizers=("$@")
[ ${#sanitizers[@]} -gt 0 ] || sanitizers=(address thread)
for s in "${sanitizers[@]}"; do
    scratch=".build-${short[$s]}"
    log="$scratch/sanitizer-build.log"
    mkdir -p "$scratch"
    t0=$(date +%s)
    if ! swift build --build-tests --sanitize="$s" ${extra[$s]} --scratch-path "$scratch" > "$log" 2>&1; then
        grep -E "error" "$log" | head -40 >&2 || tail -40 "$log" >&2
        echo "sanitizers: the $s build failed (log: $log)" >&2
        exit 1
    fi
    t1=$(date +%s)
    swift test --sanitize="$s" ${extra[$s]} --scratch-path "$scratch" --skip-build --filter "${filters[$s]}"
    t2=$(date +%s)
    echo "sanitizers: $s: build $((t1 - t0)) s, tests $((t2 - t1)) s"
done
