#!/usr/bin/env bash
# Builds and runs one libFuzzer target over Recurrent's file readers.
#
#   Scripts/fuzz.sh TARGET [SECONDS] [extra libFuzzer flags...]
#   Scripts/fuzz.sh TARGET build          # build only
#   Scripts/fuzz.sh TARGET replay FILE... # run the target once on each FILE (crash reproduction)
#
# TARGET is one of: safetensors npy csv wav model_json (entry files Fuzz/TARGET.swift).
# Every Swift source of the Recurrent library is compiled together with Fuzz/*.swift into one
# module and one binary, .build-fuzz/recurrent-fuzz (swiftc -sanitize=fuzzer,address
# -parse-as-library), so nothing here touches Package.swift; Fuzz/entry.swift picks the target
# from RECURRENT_FUZZ_TARGET. The C kernels are compiled with clang -fsanitize=address. The corpus grows in .build-fuzz/corpus/TARGET (seeded from the committed
# fixtures and Fuzz/regressions/TARGET); crashes land in .build-fuzz/crashes/TARGET. Inputs
# that crashed once belong in Fuzz/regressions/TARGET/, which FuzzRegressionTests replays.
#
# libFuzzer runs with -malloc_limit_mb=256 and -max_len=65536: any single allocation over
# 256 MB from an input of at most 64 KB is reported as a crash (readers must check sizes against
# the file before allocating). Runs are slow machines' friends: prefix with `nice -n 19`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${1:?usage: Scripts/fuzz.sh TARGET [SECONDS|build|replay FILE...]}"
mode="${2:-60}"
[ -f "$root/Fuzz/$target.swift" ] && [ "$target" != entry ] || { echo "no such target: $target (see $root/Fuzz/)" >&2; exit 64; }
out="$root/.build-fuzz"
mkdir -p "$out/c" "$out/module" "$out/corpus/$target" "$out/crashes/$target"

# C kernels, with AddressSanitizer (once; rebuilt when a source is newer than its object).
objects=()
for c in "$root"/Sources/CRecurrentKernels/*.c; do
  o="$out/c/$(basename "$c" .c).o"
  if [ ! -f "$o" ] || [ "$c" -nt "$o" ]; then
    clang -c -O1 -g -fsanitize=address -fPIC -I "$root/Sources/CRecurrentKernels/include" "$c" -o "$o"
  fi
  objects+=("$o")
done
cat > "$out/module/module.modulemap" <<MAP
module CRecurrentKernels {
  umbrella header "$root/Sources/CRecurrentKernels/include/CRecurrentKernels.h"
  export *
}
MAP

binary="$out/recurrent-fuzz"
sources=("$root"/Sources/Recurrent/*/*.swift "$root"/Fuzz/*.swift)
stale=0
[ -x "$binary" ] || stale=1
for f in "${sources[@]}" "$0"; do [ "$f" -nt "$binary" ] && stale=1; done
if [ "$stale" = 1 ]; then
  echo "building $binary ..." >&2
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name Recurrent \
    -Xcc -fmodule-map-file="$out/module/module.modulemap" -I "$root/Sources/CRecurrentKernels/include" \
    "${sources[@]}" "${objects[@]}" -lpthread -o "$binary"
fi
[ "$mode" = build ] && exit 0
export RECURRENT_FUZZ_TARGET="$target"

if [ "$mode" = replay ]; then
  shift 2
  exec "$binary" -runs=1 "$@"
fi

# Seeds: the committed fixtures of the matching kind and earlier regressions.
seeds=()
case "$target" in
  safetensors) seeds=("$root"/Tests/RecurrentTests/Fixtures/*.safetensors "$root"/Tests/Fixtures/bad/models/*) ;;
  npy) seeds=("$root"/Tests/RecurrentTests/Fixtures/*.npy "$root"/Tests/Fixtures/bad/npy/*) ;;
  csv) seeds=("$root"/Tests/RecurrentTests/Fixtures/*.csv) ;;
  wav) seeds=("$root"/Tests/RecurrentTests/Fixtures/*.wav "$root"/Tests/Fixtures/bad/wav/*) ;;
  model_json) seeds=("$root"/Fuzz/seeds/model_json/*) ;;
esac
for s in "${seeds[@]}" "$root"/Fuzz/regressions/"$target"/*; do
  [ -f "$s" ] && cp -n "$s" "$out/corpus/$target/" 2>/dev/null || true
done
shift 2 || shift $#
cd "$out/crashes/$target"
exec "$binary" "$out/corpus/$target" -max_total_time="$mode" -max_len=65536 -malloc_limit_mb=256 -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 -artifact_prefix="$out/crashes/$target/" "$@"
