#!/usr/bin/env bash
# Where the GPU time goes: one `clip embed --device wgpu` run with cubecl's profiling logger on,
# every kernel launch timed, summed by kernel.
#   bench/kernel-times.sh BUNDLE [--swiftshader] [clip embed's --image/--text arguments...]
# --swiftshader runs it on Chromium's SwiftShader (/usr/lib/chromium/libvk_swiftshader.so, as a
# Vulkan driver), the software adapter the browser benchmark's WebGPU rows run on; without it,
# whatever Vulkan adapter wgpu picks (lavapipe here). Kernels are timed one at a time, so the
# total is kernel time, not a request's wall time. Env: CLIP_BIN (default: the release build's).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
if [[ $# -lt 1 || "$1" == -* ]]; then
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
bundle="$(cd "$1" && pwd)"; shift
if [[ "${1:-}" == --swiftshader ]]; then
  icd=/usr/lib/chromium/vk_swiftshader_icd.json
  [[ -f "$icd" ]] || { echo "kernel-times.sh: --swiftshader needs Chromium's SwiftShader ($icd); install Debian's chromium" >&2; exit 2; }
  export VK_DRIVER_FILES="$icd"
  shift
fi
clip="${CLIP_BIN:-${CARGO_TARGET_DIR:-$repo/target}/release/clip}"
[[ -x "$clip" ]] || { echo "kernel-times.sh: no CLI at $clip; build it (cargo build --release) or set CLIP_BIN" >&2; exit 2; }
[[ $# -gt 0 ]] || set -- --image "$repo/tests/fixtures/images/chelsea.png"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# cubecl reads cubecl.toml from the working directory.
printf '[profiling.logger]\nlevel = "basic"\nfile = "%s/kernels.log"\nappend = false\n' "$work" >"$work/cubecl.toml"
(cd "$work" && "$clip" embed --device wgpu --model "$bundle" "$@" >/dev/null)
python3 - "$work/kernels.log" <<'PY'
import collections, re, sys
units = {"ns": 1e-6, "µs": 1e-3, "ms": 1.0, "s": 1e3}
total, count = collections.defaultdict(float), collections.Counter()
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"\|\s*([\d.]+)(ns|µs|ms|s)\s*\|\s*(.*)", line)
    if not m:
        continue
    name = m.group(3).strip()
    short = re.sub(r"_[0-9a-f]{8}$", "", name.split("|")[0].strip())
    if short == "MatmulEntry":
        short += " (fused)" if "FusedMatmulArgs" in name else " (eager)"
    total[short] += float(m.group(1)) * units[m.group(2)]
    count[short] += 1
whole = sum(total.values())
print(f"| kernel | launches | ms | share |\n|---|---|---|---|")
for name, ms in sorted(total.items(), key=lambda kv: -kv[1]):
    print(f"| {name} | {count[name]} | {ms:.1f} | {100 * ms / whole:.1f} % |")
print(f"| all | {sum(count.values())} | {whole:.1f} | |")
PY
