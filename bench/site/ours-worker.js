// Ours, in a module worker as the page runs it (www/src/worker.ts): the threaded module must
// be, since its engine thread waits on its pool (a wait browsers forbid on a page's main thread).
// Requests: {id, op, args}; each answer carries the wasm heap's size then.
//   load(gpu, threads): the WebGPU module (gpu), the CPU-only module (threads 1) or the threaded
//   CPU module with a pool of `threads` workers; then the q8 bundle as the page loads it.
//   `pkg` "pkg-before" loads the module of compare.sh's --before-pkg (WebGPU) or --before-cpu-pkg
//   (one thread) instead.
// Each answer also carries this realm's WebGPU call counts so far (gpu-counts.js).
import { gpuCounts } from "./gpu-counts.js";

let engine = null;
let memory = null;

const url = (path) => new URL(path, self.location.href).href;
async function bytesOf(path) {
  const response = await fetch(url(path), { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function load(gpu, threads, pkg) {
  const dir = gpu ? `./${pkg ?? "pkg"}/` : threads > 1 ? "./pkg-threads/" : pkg === "pkg-before" ? "./pkg-cpu-before/" : "./pkg-cpu/";
  const clip = await import(url(dir + "clip.js"));
  const wasm = await clip.default({ module_or_path: new URL(dir + "clip_bg.wasm", self.location.href) });
  memory = wasm.memory;
  if (!gpu && threads > 1) await clip.initThreadPool(threads);
  engine = await clip.Engine.create(gpu, gpu);
  const base = "models/ours/";
  const [manifest, vision, text, tokenizer] = await Promise.all([
    fetch(url(base + "manifest.json"), { cache: "no-store" }).then((r) => r.text()),
    bytesOf(base + "vision.bpk"),
    bytesOf(base + "text.bpk"),
    bytesOf(base + "tokenizer.json"),
  ]);
  // As the page does: each file's sha256 from WebCrypto, checked against the manifest by loadBundle.
  const hex = async (bytes) => Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)), (b) => b.toString(16).padStart(2, "0")).join("");
  const [v, t, k] = await Promise.all([hex(vision), hex(text), hex(tokenizer)]);
  const digests = { "vision.bpk": v, "text.bpk": t, "tokenizer.json": k };
  engine.loadBundle(manifest, vision, text, tokenizer, JSON.stringify(digests));
  return `${engine.backend}: ${engine.backendDescription}${engine.fallbackReason ? ` (fallback: ${engine.fallbackReason})` : ""}`;
}

self.onmessage = async ({ data: { id, op, args } }) => {
  try {
    const result =
      op === "load" ? await load(...args) : op === "embedImage" ? await engine.embedImage(args[0]) : await engine.embedTexts(args[0]);
    self.postMessage({ id, ok: true, result, heap: memory?.buffer.byteLength ?? null, gpu: gpuCounts() });
  } catch (error) {
    self.postMessage({ id, ok: false, error: String(error?.message ?? error), heap: memory?.buffer.byteLength ?? null, gpu: gpuCounts() });
  }
};
