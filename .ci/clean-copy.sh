#!/usr/bin/env bash
# The README's two commands, `./setup` and `swift test -c release`, on a clean copy of
# the repository: the files of HEAD (`git archive`: nothing untracked, no build
# products) alone in a fresh temporary directory, so nothing is beside it, with none of
# the variables that point the tests outside the repository (CIL_DATA and the PyTorch
# ones). A test that reads a file outside the repository fails here; the CIFAR-100
# tests are skipped, and this checks that they said so. Then, with DATA set, the same
# build runs the CIFAR-100 tests (every test named `realCIFAR...`) with CIL_DATA=DATA
# and CIL_REQUIRE_DATA=1, and checks that as many ran as were skipped before. Builds
# from scratch: about 5 minutes of building and 6-8 minutes of tests on 2 cores.
#
#   .ci/clean-copy.sh [DATA]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-}

if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "clean-copy: uncommitted changes are not in the copy (it holds HEAD)" >&2
fi
parent=$(mktemp -d "${TMPDIR:-/tmp}/cil-clean-copy.XXXXXX")
trap 'rm -rf "$parent"' EXIT
copy="$parent/cil"
mkdir "$copy"
git archive --format=tar HEAD | tar -x -C "$copy"
if [ "$(ls -A "$parent")" != cil ]; then
    echo "clean-copy: $parent holds more than the copy" >&2
    exit 1
fi
echo "clean-copy: HEAD $(git rev-parse --short HEAD) in $copy"

log="$parent/test.log"
cd "$copy"
clean_env=(env -u CIL_DATA -u CIL_REQUIRE_DATA -u CIL_TORCH_PYTHON -u CIL_AAN_DIR)
"${clean_env[@]}" ./setup
if ! "${clean_env[@]}" swift test -c release 2>&1 | tee "$log"; then
    echo "clean-copy: swift test -c release failed on the clean copy" >&2
    exit 1
fi
# The CIFAR-100 tests skip with one line each (Tests/*/RealCIFAR.swift).
if ! grep -q "CIFAR-100 not found" "$log"; then
    echo "clean-copy: no CIFAR-100 test reported its skip (expected \"CIFAR-100 not found: ...\")" >&2
    exit 1
fi
skipped=$(grep -c "CIFAR-100 not found" "$log")
echo "clean-copy: passed ($skipped CIFAR-100 tests skipped, as without data)"
[ -n "$data" ] || exit 0

datalog="$parent/test-data.log"
if ! CIL_DATA="$data" CIL_REQUIRE_DATA=1 swift test -c release --skip-build --filter realCIFAR 2>&1 | tee "$datalog"; then
    echo "clean-copy: the CIFAR-100 tests failed with CIL_DATA=$data" >&2
    exit 1
fi
ran=$(grep -cE "^✔ Test (\"[^\"]*\"|[A-Za-z]+\(\)) passed" "$datalog" || true)
if [ "$ran" -ne "$skipped" ]; then
    echo "clean-copy: $skipped CIFAR-100 tests skipped without data, but $ran ran with it (is every one named realCIFAR...?)" >&2
    exit 1
fi
echo "clean-copy: the $ran CIFAR-100 tests passed with CIL_DATA=$data"
