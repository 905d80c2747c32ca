#!/usr/bin/env bash
# Builds the three out-of-tree example plugins (each against the SDK package, by path)
# and prints where their libraries are. Load them with
#   cil plugins --plugin-dir <dir>   or   cil run/compare ... --plugin-dir <dir>
set -euo pipefail
cd "$(dirname "$0")/.."

for package in WeightAligning LowRankBranch; do
    echo "== building Examples/$package (release)"
    swift build -c release --package-path "Examples/$package"
done

echo "== building Examples/CLossTerm (cc)"
cc -O2 -Wall -Wextra -shared -fPIC -I Sources/SDK/Sources/CILPluginABI/include \
    -o Examples/CLossTerm/libCILPluginEntropy.so Examples/CLossTerm/entropy.c -lm

echo
echo "Example plugin libraries:"
for lib in Examples/WeightAligning/.build/release/libCILPluginWA.so \
           Examples/LowRankBranch/.build/release/libCILPluginLowRank.so \
           Examples/CLossTerm/libCILPluginEntropy.so; do
    [ -f "$lib" ] || { echo "missing: $lib" >&2; exit 1; }
    echo "  $lib"
done
echo
echo "e.g. .build/release/cil plugins --plugin-dir Examples/WeightAligning/.build/release \\"
echo "         --plugin-dir Examples/LowRankBranch/.build/release --plugin-dir Examples/CLossTerm"
