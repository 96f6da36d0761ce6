#!/usr/bin/env bash
# Run every fuzz target for a number of executions (default 10 million) or a time limit, one
# after the other, growing fuzz/corpus/<target>/; prints libFuzzer's final stats per target.
#   fuzz/run.sh [RUNS] [MAX_SECONDS_PER_TARGET] [TARGET...]
# Needs the nightly toolchain and cargo-fuzz (cargo install cargo-fuzz).
set -euo pipefail
cd "$(dirname "$0")"
RUNS="${1:-10000000}"
MAX_SECONDS="${2:-0}"
shift $(( $# > 2 ? 2 : $# ))
TARGETS=("${@:-text link_state image bundle}")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/cache/clip-zero-shot/fuzz-target}"
# No sanitizer (safe Rust; ASan halves the speed), debug assertions on (overflow checks).
cargo +nightly fuzz build -O -a -s none
BIN="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"
for target in ${TARGETS[@]}; do
  echo "== $target"
  mkdir -p "corpus/$target" "artifacts/$target"
  # Images: 16 kB inputs are enough to reach every decoder path, and larger ones slow every run.
  max_len=$([ "$target" = image ] && echo 16384 || echo 65536)
  "$BIN/$target" "corpus/$target" -runs="$RUNS" -max_total_time="$MAX_SECONDS" -max_len="$max_len" \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 2>&1 \
    | grep -E '^stat::|^#[0-9]+ +DONE|ERROR|panicked|SUMMARY' || true
done
