// Runs a wasm32-wasip1 test binary in Node's WASI (cargo's target runner), so that the wasm
// SIMD kernels of third_party/burn-flex are tested as the page runs them:
//   CARGO_TARGET_WASM32_WASIP1_RUNNER="node tests/wasi/run.mjs" cargo test --target wasm32-wasip1 …
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1", args: [file, ...args], env: {}, returnOnExit: true });
const module = await WebAssembly.compile(readFileSync(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
