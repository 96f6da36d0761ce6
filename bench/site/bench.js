// The harness page: one contender per page load, chosen by the query string
//   ?who=ours|before|theirs&threads=1|2&gpu=0|1&images=5&prompts=5&dtype=q8
// ("before" is ours with the WebGPU module in pkg-before/, or on the CPU with one thread the CPU
// module in pkg-cpu-before/: compare.sh's --before-pkg / --before-cpu-pkg).
// It times load → ready, the first image, steady images, 1 prompt and 10 prompts, reads the wasm
// heap, counts the WebGPU calls of each request (gpu-counts.js) and leaves everything in
// window.__bench (the driver, bench/run.mjs, polls for it).
import { gpuCounts, gpuDelta } from "./gpu-counts.js";

// Record every WebAssembly.Memory the page makes or instantiates, before any contender loads:
// onnxruntime-web (a threaded Emscripten build) creates its memory in JS and keeps the module
// private, so this is how its heap is reachable; ours is also read from the wasm-bindgen exports.
const memories = new Set();
const NativeMemory = WebAssembly.Memory;
WebAssembly.Memory = new Proxy(NativeMemory, {
  construct(target, args) {
    const memory = new target(...args);
    memories.add(memory);
    return memory;
  },
});
for (const name of ["instantiate", "instantiateStreaming"]) {
  const native = WebAssembly[name];
  WebAssembly[name] = async function (...args) {
    const result = await native.apply(this, args);
    const instance = result instanceof WebAssembly.Instance ? result : result.instance;
    for (const value of Object.values(instance?.exports ?? {})) if (value instanceof NativeMemory) memories.add(value);
    return result;
  };
}
const heapBytes = () => [...memories].reduce((sum, m) => sum + m.buffer.byteLength, 0);

const params = new URLSearchParams(location.search);
const who = params.get("who");
const threads = Number(params.get("threads") ?? 1);
const gpu = params.get("gpu") === "1";
const imageRuns = Math.max(1, Number(params.get("images") ?? 5));
const promptRuns = Math.max(1, Number(params.get("prompts") ?? 5));
const dtype = params.get("dtype") ?? "q8";
const IMAGES = ["rocket.jpg", "astronaut.png", "coffee.png", "chelsea.png"];
const LABELS = ["rocket", "astronaut", "cup of coffee", "cat", "dog", "horse", "car", "tree", "house", "bicycle"];
const logEl = document.getElementById("log");
const log = (line) => (logEl.textContent += `\n${line}`);
const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null;
};
const url = (path) => new URL(path, location.href).href;
async function bytesOf(path) {
  const response = await fetch(url(path), { cache: "no-store" });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
/** Fresh, distinct prompts for each timed call: both engines cache nothing across them then. */
let promptCounter = 0;
function freshPrompts(n) {
  promptCounter += 1;
  return Array.from({ length: n }, (_, i) => `a photo of a ${LABELS[i % LABELS.length]}, take ${promptCounter}.`);
}

/** Ours: the repo's wasm module and its q8 bundle, in a worker as the page runs it
 * (ours-worker.js): on the CPU, the CPU-only module (www/pkg-cpu) the page fetches when it has no
 * GPU, or with threads > 1 the threaded one (www/pkg-threads) it fetches when cross-origin
 * isolated; on WebGPU, the WebGPU module (www/pkg). Each call's time includes its two messages. */
async function loadOurs() {
  const worker = new Worker(new URL("./ours-worker.js", import.meta.url), { type: "module" });
  const pending = new Map();
  let lastHeap = null;
  let lastGpu = null;
  let nextId = 0;
  worker.onmessage = ({ data }) => {
    lastHeap = data.heap ?? lastHeap;
    lastGpu = data.gpu ?? lastGpu;
    const call = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) call.resolve(data.result);
    else call.reject(new Error(data.error));
  };
  worker.onerror = (event) => {
    for (const call of pending.values()) call.reject(new Error(event.message || "the worker failed"));
    pending.clear();
  };
  const call = (op, ...args) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, args });
    });
  const backend = await call("load", gpu, threads, who === "before" ? "pkg-before" : "pkg");
  return {
    backend,
    heap: () => lastHeap,
    gpu: () => lastGpu, // the worker's realm: counts as of its last answer
    heapHow: "wasm-bindgen exports.memory.buffer.byteLength (in its worker)",
    embedImage: (bytes) => call("embedImage", bytes),
    embedTexts: (texts) => call("embedTexts", texts),
  };
}

/** Theirs: transformers.js (its self-contained browser bundle, onnxruntime-web inside) on the ONNX export. */
/** Theirs' image time split: RawImage.fromBlob (decode), the processor (resize, crop, normalize), the vision model. */
const parts = [];
async function loadTheirs() {
  const T = await import("./tjs/transformers.js");
  const { env } = T;
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = new URL("models/", location.href).pathname; // a path: transformers.js skips local http(s) URLs
  env.useBrowserCache = false; // every configuration loads from the server, as ours does
  env.useWasmCache = false; // else it imports onnxruntime's factory from a blob: URL, which the CSP forbids
  env.backends.onnx.wasm.wasmPaths = {
    mjs: url("ort/ort-wasm-simd-threaded.asyncify.mjs"),
    wasm: url("ort/ort-wasm-simd-threaded.asyncify.wasm"),
  };
  env.backends.onnx.wasm.numThreads = threads;
  const device = gpu ? "webgpu" : "wasm";
  const name = "theirs";
  const [processor, tokenizer, vision, text] = await Promise.all([
    T.AutoProcessor.from_pretrained(name),
    T.AutoTokenizer.from_pretrained(name),
    T.CLIPVisionModelWithProjection.from_pretrained(name, { device, dtype }),
    T.CLIPTextModelWithProjection.from_pretrained(name, { device, dtype }),
  ]);
  return {
    backend: `transformers.js ${T.env.version}, onnxruntime-web ${env.backends.onnx.versions?.web ?? "?"}, device ${device}, dtype ${dtype}, numThreads ${env.backends.onnx.wasm.numThreads}`,
    heap: () => (memories.size ? heapBytes() : null),
    gpu: gpuCounts, // this realm's: onnxruntime-web's WebGPU runs on the page's thread
    heapHow: "sum of onnxruntime-web's WebAssembly.Memory byteLength (hooked constructor)",
    embedImage: async (bytes) => {
      const t0 = now();
      const image = await T.RawImage.fromBlob(new Blob([bytes]));
      const t1 = now();
      const inputs = await processor(image);
      const t2 = now();
      const { image_embeds } = await vision(inputs);
      const data = image_embeds.data;
      parts.push({ decode: t1 - t0, preprocess: t2 - t1, model: now() - t2 });
      return data;
    },
    embedTexts: async (texts) => {
      const inputs = tokenizer(texts, { padding: true, truncation: true });
      const { text_embeds } = await text(inputs);
      return text_embeds.data;
    },
  };
}

async function main() {
  const images = await Promise.all(IMAGES.map((name) => bytesOf(`images/${name}`)));
  const result = { who, threads, gpu, crossOriginIsolated: self.crossOriginIsolated, userAgent: navigator.userAgent };
  const t0 = now();
  const engine = who === "theirs" ? await loadTheirs() : await loadOurs();
  // WebGPU calls per request: each call's delta; the driver reports the last of each kind (the
  // most warmed: pipelines compiled, autotune settled).
  const gpuCalls = { image: [], prompts_1: [], prompts_10: [] };
  const counted = async (kind, call) => {
    const before = engine.gpu();
    const out = await call();
    gpuCalls[kind]?.push(gpuDelta(before, engine.gpu()));
    return out;
  };
  result.load_ms = now() - t0;
  result.backend = engine.backend;
  result.heap_bytes = engine.heap();
  result.heap_how = engine.heapHow;
  result.heap_all_wasm_memories = heapBytes();
  log(`ready in ${result.load_ms.toFixed(0)} ms: ${engine.backend}`);

  let t = now();
  const first = await engine.embedImage(images[0]);
  result.first_image_ms = now() - t;
  const steady = [];
  for (let i = 0; i < imageRuns; i++) {
    t = now();
    await counted("image", () => engine.embedImage(images[(i + 1) % images.length]));
    steady.push(now() - t);
  }
  result.steady_image_ms = median(steady);
  result.steady_image_all = steady;
  if (parts.length > 1) {
    const rest = parts.slice(1);
    result.steady_image_parts_ms = Object.fromEntries(["decode", "preprocess", "model"].map((k) => [k, median(rest.map((p) => p[k]))]));
  }
  log(`image: first ${result.first_image_ms.toFixed(0)} ms, steady ${result.steady_image_ms.toFixed(0)} ms`);

  // The reference embeddings: image 0 and one fixed prompt (the driver compares ours with theirs).
  result.image_embedding = Array.from(first);
  result.text_embedding = Array.from(await engine.embedTexts(["a photo of a rocket."]));
  for (const n of [1, 10]) {
    const times = [];
    for (let i = 0; i < promptRuns; i++) {
      const texts = freshPrompts(n);
      t = now();
      await counted(`prompts_${n}`, () => engine.embedTexts(texts));
      times.push(now() - t);
    }
    result[`prompts_${n}_ms`] = median(times);
    result[`prompts_${n}_all`] = times;
    log(`${n} prompt(s): ${result[`prompts_${n}_ms`].toFixed(0)} ms`);
  }
  result.heap_after_bytes = engine.heap();
  if (gpu) {
    result.gpu_calls = gpuCalls;
    result.gpu_total = engine.gpu(); // load and first image included
  }
  return result;
}

main().then(
  (result) => {
    window.__bench = { ok: true, result };
    log("done");
  },
  (error) => {
    window.__bench = { ok: false, error: `${error?.stack ?? error}` };
    log(`error: ${error?.stack ?? error}`);
  },
);
