#!/usr/bin/env bash
# The project's test command (README.md "Test"): Rust unit, reference and CLI tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --release --workspace
