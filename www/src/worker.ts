// The module worker that owns the one Engine. Requests are run one at a time (the engine takes
// one request at a time); classification jumps ahead of image embedding so text edits stay
// live, and a classify request superseded by a newer one on its channel is dropped.

import * as withGpu from "clip-wasm";
import * as cpuOnly from "clip-wasm-cpu";
import type {
  Api,
  BackendInfo,
  ClassifyParams,
  ClassifyResult,
  EmbedParams,
  EmbedResult,
  FromWorker,
  InitParams,
  InitResult,
  Method,
  ModelInfo,
  ProgressEvent,
  Preset,
  PresetTopParams,
  PresetTopResult,
  Request,
  SearchParams,
  ProbeParams,
  PageState,
  ProbeResult,
  SearchResult,
  Scores,
  TopClass,
} from "./protocol";
import { panicMessage } from "./protocol";

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<Request>) => void) | null;
}
const scope = self as unknown as WorkerScope;

const CACHE_PREFIX = "clip-bundle-";
const BUNDLE_FILES = ["vision.bpk", "text.bpk", "tokenizer.json"] as const;

/** Both builds export the same API (one Rust crate, built with its `wgpu` or its `cpu` feature). */
interface Wasm {
  default: (init: { module_or_path: URL }) => Promise<unknown>;
  Engine: typeof withGpu.Engine;
}
type Engine = withGpu.Engine;

let engine: Engine | null = null;
let loaded = false;
/** Image embeddings by the page's image id: computed once, reused by every text edit. */
const embeddings = new Map<string, Float32Array>();
/** Newest classify generation seen per channel (at arrival, so queued older ones can be dropped). */
const newestGeneration = new Map<string, number>();
const queue: Request[] = [];
let running = false;

class Superseded extends Error {}

function post(message: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  return String(error);
}

// console_error_panic_hook reports Rust panics through console.error: forward them to the page,
// which restarts the worker (a panic in wasm aborts the request it happened in, unanswered).
const consoleError = console.error.bind(console);
console.error = (...args: unknown[]) => {
  consoleError(...args);
  const text = args.map(String).join(" ");
  if (text.startsWith("panicked at")) post({ kind: "event", event: "panic", message: panicMessage(text) });
};


scope.onmessage = (event) => {
  const request = event.data;
  if (request.method === "classify" || request.method === "search" || request.method === "probe") {
    const { channel, generation } = request.params;
    newestGeneration.set(channel, Math.max(newestGeneration.get(channel) ?? -Infinity, generation));
  }
  // Link state needs only the wasm module, not the engine: answer it now, ahead of a model load.
  if (request.method === "parseState" || request.method === "encodeState") {
    void answerState(request);
    return;
  }
  queue.push(request);
  void pump();
};

async function answerState(request: Request): Promise<void> {
  try {
    await startWasm();
    const result =
      request.method === "parseState"
        ? (JSON.parse(wasm.Engine.parseState(request.params.fragment)) as PageState)
        : request.method === "encodeState"
          ? { fragment: wasm.Engine.encodeState(JSON.stringify(request.params.state)) }
          : null;
    post({ kind: "response", id: request.id, ok: true, result: result! });
  } catch (error) {
    post({ kind: "response", id: request.id, ok: false, error: messageOf(error), superseded: false });
  }
}

/** Next request: the first non-embed one if any (text edits must not wait behind images), else the oldest. */
function takeNext(): Request | undefined {
  const urgent = queue.findIndex((r) => r.method !== "embed");
  return queue.splice(urgent >= 0 ? urgent : 0, 1)[0];
}

async function pump(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (let request = takeNext(); request; request = takeNext()) {
      post({ kind: "event", event: "started", id: request.id });
      try {
        const result = await handle(request);
        post({ kind: "response", id: request.id, ok: true, result });
      } catch (error) {
        post({
          kind: "response",
          id: request.id,
          ok: false,
          error: messageOf(error),
          superseded: error instanceof Superseded,
        });
      }
    }
  } finally {
    running = false;
  }
}

function handle(request: Request): Promise<Api[Method]["result"]> {
  switch (request.method) {
    case "init":
      return initialize(request.params);
    case "embed":
      return embed(request.params);
    case "classify":
      return classify(request.params);
    case "forget":
      return Promise.resolve({ forgotten: embeddings.delete(request.params.imageId) });
    case "presetTop":
      return Promise.resolve(presetTop(request.params));
    case "search":
      return search(request.params);
    case "probe":
      return Promise.resolve(probe(request.params));
    case "parseState":
    case "encodeState":
      throw new Error("link state is answered outside the queue");
    case "loseDevice":
      return Promise.resolve(loseDevice());
  }
}

// ---------------------------------------------------------------------------------------------
// init: wasm, engine, bundle download (streamed, verified, cached), load

interface ManifestHead {
  bundle_id: string;
  precision?: string;
  source?: { repo?: string | null };
  files: Record<string, { bytes: number; sha256: string }>;
  classifiers?: { preset: string; file: string }[];
}

/**
 * Which module the page asked for, in the worker's address (`worker.js?backend=`): `cpu`, `webgpu`
 * (a software adapter too: `?backend=webgpu`) or `auto` (a GPU adapter if there is one).
 */
const asked = new URL(self.location.href).searchParams.get("backend") ?? "auto";

/** The module in use, once started, and why it is the CPU-only one (when the page did not ask). */
let wasm: Wasm = withGpu;
let cpuBecause: string | null = null;
let wasmReady: Promise<unknown> | null = null;

/**
 * The threaded CPU module (pkg-threads/, built with the `threads` feature): not bundled here, as
 * its pool workers import its glue themselves. It needs shared memory, which browsers give only
 * to cross-origin isolated pages (COOP + COEP headers, as www/serve.mjs sends), and a build that
 * has it (a nightly toolchain: build.sh says when it skipped it).
 */
declare const THREADS_MODULE: boolean;
interface ThreadedWasm extends Wasm {
  initThreadPool(threads: number): Promise<void>;
  /** Test hook: a pool thread panics while this thread waits for it (never returns). */
  debugPanicInPool(): void;
}
/** Threads asked for in the page's address (`?threads=N`; 1 keeps the single-threaded module). */
const threadsAsked = Number.parseInt(new URL(self.location.href).searchParams.get("threads") ?? "", 10);

/** How many pool threads the CPU path gets, or why it runs on one. */
function cpuThreads(): number | string {
  if (!THREADS_MODULE) return "this build has no threaded module";
  if (threadsAsked === 1) return "one thread was asked for";
  if (!(self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated) return "the page is not cross-origin isolated";
  const cores = navigator.hardwareConcurrency || 1;
  const threads = Number.isInteger(threadsAsked) && threadsAsked > 1 ? Math.min(threadsAsked, 16) : Math.min(cores, 8);
  return threads > 1 ? threads : "this device reports one core";
}

/**
 * The wasm module, started once (link state and the engine both wait on it). WebGPU needs the
 * larger module (13.7 MB, 3.4 MB gzipped: cubecl's kernel compiler and wgpu); without a usable
 * GPU adapter the page runs the CPU path, so it fetches the module with only that (4.2 MB, 1.3 MB
 * gzipped), threaded where the page may share memory. The adapter check is the one the engine
 * makes (wgpu marks a browser's fallback adapter, a software renderer, as a CPU), so both modules
 * pick the same backend.
 */
function startWasm(): Promise<unknown> {
  wasmReady ??= (async () => {
    cpuBecause = await reasonForCpu();
    if (cpuBecause === null) {
      wasm = withGpu;
      return startModule(withGpu);
    }
    return startCpuModule();
  })();
  return wasmReady;
}

/** Fetch and instantiate the WebGPU module or the single-threaded CPU one (each glue has its own module file). */
function startModule(module: Wasm): Promise<unknown> {
  const file = module === withGpu ? "./pkg/clip_bg.wasm" : "./pkg/clip_cpu_bg.wasm";
  return module.default({ module_or_path: new URL(file, import.meta.url) });
}

/** Why the CPU path runs on one thread (null: on several); shown beside the backend. */
let oneThreadBecause: string | null = null;

/** The CPU path: the threaded module with its pool started, else the single-threaded one. */
async function startCpuModule(): Promise<void> {
  const threads = cpuThreads();
  if (typeof threads === "number") {
    try {
      const glue = new URL("./pkg-threads/clip.js", import.meta.url).href;
      const threaded = (await import(glue)) as ThreadedWasm;
      await threaded.default({ module_or_path: new URL("./pkg-threads/clip_bg.wasm", import.meta.url) });
      await threaded.initThreadPool(threads);
      wasm = threaded;
      oneThreadBecause = null;
      return;
    } catch (error) {
      oneThreadBecause = `the threaded module did not start (${messageOf(error)})`;
    }
  } else {
    oneThreadBecause = threads;
  }
  await startModule(cpuOnly);
  wasm = cpuOnly;
}

/**
 * Each file's sha256 (hex, as JSON for `loadBundle`) from WebCrypto: the browser's native SHA-256
 * takes a fraction of the 0.5 s that hashing ViT-B/32's 158 MB takes in wasm. Undefined where
 * WebCrypto is missing (an insecure context) or fails: `loadBundle` then hashes in wasm.
 */
async function sha256Of(files: Map<string, Uint8Array>): Promise<string | undefined> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return undefined;
  try {
    const entries = await Promise.all(
      [...files].map(async ([name, bytes]) => {
        const digest = new Uint8Array(await subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
        return [name, Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")] as const;
      }),
    );
    return JSON.stringify(Object.fromEntries(entries));
  } catch {
    return undefined;
  }
}

/** Why the CPU-only module will do, or null when a WebGPU adapter is worth the larger module. */
async function reasonForCpu(): Promise<string | null> {
  if (asked === "cpu") return "the CPU was asked for";
  interface Adapter {
    info?: { description?: string; isFallbackAdapter?: boolean };
  }
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<Adapter | null> } }).gpu;
  if (!gpu) return "this browser has no WebGPU";
  let adapter: Adapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return `no usable GPU through WebGPU (${messageOf(error)})`;
  }
  if (!adapter) return "no usable GPU through WebGPU (the browser offers no adapter)";
  if (adapter.info?.isFallbackAdapter === true && asked !== "webgpu") {
    const name = adapter.info.description?.trim() || "Cpu";
    return `the only WebGPU adapter is a software renderer (WebGPU: ${name}), far slower than the CPU path; add ?backend=webgpu to use it anyway`;
  }
  return null;
}

/**
 * The engine on the module started. The WebGPU module has no CPU path of its own: when it finds
 * no usable device after all (the adapter refuses a device, or is a software one), it says why,
 * and the CPU module takes over with that reason shown.
 */
async function createEngine(params: InitParams): Promise<Engine> {
  try {
    return await wasm.Engine.create(params.preferGpu && cpuBecause === null, params.allowSoftwareGpu);
  } catch (error) {
    if (wasm !== withGpu) throw error;
    cpuBecause = messageOf(error);
    stage("starting the CPU module");
    await startCpuModule();
    return await wasm.Engine.create(false, false);
  }
}

async function initialize(params: InitParams): Promise<InitResult> {
  const started = performance.now();
  stage("starting the WebAssembly module");
  try {
    await startWasm();
  } catch (error) {
    wasmReady = null;
    throw new Error(`The WebAssembly module could not be started (${messageOf(error)}).`);
  }
  debugHooks = params.debugHooks === true;
  if (!engine) {
    if (params.debugShaders) reportShaderErrors();
    if (params.preferGpu) watchDevice();
    if (params.debugRefuseDevice) refuseDevices();
    stage(params.preferGpu ? "asking the browser for WebGPU" : "starting the CPU backend");
    engine = await createEngine(params);
  }
  const backend: BackendInfo = {
    backend: engine.backend,
    description: engine.backend === "cpu" && oneThreadBecause !== null ? `${engine.backendDescription}, one thread: ${oneThreadBecause}` : engine.backendDescription,
    fallbackReason: cpuBecause ?? engine.fallbackReason ?? null,
  };
  post({ kind: "event", event: "backend", backend });

  stage("fetching the model manifest");
  const manifestUrl = new URL("manifest.json", params.modelUrl);
  let manifestText: string;
  try {
    const response = await fetch(manifestUrl, { cache: "no-cache" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    manifestText = await response.text();
  } catch (error) {
    throw new Error(`The model bundle could not be fetched from ${manifestUrl.pathname} (${messageOf(error)}).`);
  }
  let manifest: ManifestHead;
  try {
    manifest = JSON.parse(manifestText) as ManifestHead;
    if (typeof manifest.bundle_id !== "string" || typeof manifest.files !== "object") throw new Error("fields missing");
  } catch (error) {
    throw new Error(`The model manifest is not valid JSON with bundle_id and files (${messageOf(error)}).`);
  }
  if (!manifest.files["tokenizer.json"]) throw new Error("The model manifest lists no tokenizer.json.");

  const cache = await openCache(manifest.bundle_id);
  const names = BUNDLE_FILES.filter((name) => manifest.files[name]);
  const fetchAll = (from: Cache | null) =>
    Promise.all(names.map((name) => fetchFile(manifest, name, new URL(name, params.modelUrl), from)));
  // loadBundle checks every file's size and sha256 against the manifest as it loads it (once:
  // hashing 150 MB twice cost a visible part of the load), so files are cached only after it
  // accepted them. The digests come from the browser's WebCrypto where it has one.
  const load = async (files: Fetched[]) => {
    const bytes = new Map(names.map((name, i) => [name, files[i]!.bytes] as const));
    stage(`loading the model into ${backend.backend === "webgpu" ? "WebGPU" : "the CPU backend"}`);
    const digests = await sha256Of(bytes);
    engine!.loadBundle(manifestText, bytes.get("vision.bpk"), bytes.get("text.bpk"), bytes.get("tokenizer.json")!, digests);
  };
  let fetched = await fetchAll(cache);
  try {
    await load(fetched);
  } catch (error) {
    if (!fetched.some((f) => f.fromCache)) throw new Error(`The model could not be loaded: ${messageOf(error)}`);
    // A cached copy may be damaged (an interrupted write, storage trouble): download once more.
    await forget(cache, names.map((name) => new URL(name, params.modelUrl)));
    fetched = await fetchAll(null);
    try {
      await load(fetched);
    } catch (retryError) {
      throw new Error(`The model could not be loaded: ${messageOf(retryError)}`);
    }
  }
  await Promise.all(
    names.map(async (name, i) => {
      const file = fetched[i]!;
      if (!file.fromCache) await store(cache, new URL(name, params.modelUrl), file.bytes);
      progress(name, file.bytes.byteLength, file.bytes.byteLength, file.fromCache ? "cache" : "done");
    }),
  );
  // Precomputed preset classifiers (≈1 MB each): fetched, verified and cached like the towers.
  const classifiers: string[] = [];
  const classifierFiles = (manifest.classifiers ?? []).filter((c) => typeof c.file === "string" && manifest.files[c.file]);
  const classifierBytes = await Promise.all(
    classifierFiles.map((c) => fetchVerified(manifestText, manifest, c.file, new URL(c.file, params.modelUrl), cache)),
  );
  classifierFiles.forEach((c, i) => {
    try {
      classifiers.push(engine!.addClassifier(manifestText, c.file, classifierBytes[i]!.bytes));
    } catch (error) {
      throw new Error(`The model's ${c.preset} classifier could not be loaded: ${messageOf(error)}`);
    }
  });
  fetched.push(...classifierBytes);
  loaded = true;
  const model = JSON.parse(engine.modelInfo()) as ModelInfo;
  const presets = (JSON.parse(wasm.Engine.presets()) as { presets: Preset[] }).presets;
  void dropOtherCaches(manifest.bundle_id);
  stage("ready");
  return {
    backend,
    model,
    bundleId: manifest.bundle_id,
    precision: manifest.precision ?? "unknown",
    sourceRepo: manifest.source?.repo ?? null,
    classifiers,
    presets,
    totalBytes: fetched.reduce((sum, f) => sum + f.bytes.byteLength, 0),
    cachedBytes: fetched.reduce((sum, f) => sum + (f.fromCache ? f.bytes.byteLength : 0), 0),
    ms: performance.now() - started,
  };
}

let debugHooks = false;
/** The WebGPU device the engine got (kept only to watch it and for the test hook). */
let gpuDevice: { destroy(): void; lost: Promise<{ reason: string; message: string }> } | null = null;

/** Tell the page when the device is lost (driver reset, GPU unplugged, tab in the background too
 * long): every later GPU call would fail, so the page moves the engine to the CPU. */
function watchDevice(): void {
  type Device = NonNullable<typeof gpuDevice>;
  type RequestDevice = (this: unknown, descriptor?: unknown) => Promise<Device>;
  const proto = (globalThis as unknown as { GPUAdapter?: { prototype: { requestDevice: RequestDevice } } }).GPUAdapter?.prototype;
  if (!proto) return;
  const request = proto.requestDevice;
  proto.requestDevice = async function (descriptor) {
    const device = await request.call(this, descriptor);
    gpuDevice = device;
    void device.lost.then((info) => {
      // A device set aside for the CPU path (a software adapter) loses nothing the engine uses.
      if (engine?.backend !== "webgpu") return;
      post({ kind: "event", event: "device-lost", message: info.message || `the device was ${info.reason || "lost"}` });
    });
    return device;
  };
}

/** ?debug=no-device: every adapter refuses to give a device (see `createEngine`). */
function refuseDevices(): void {
  const proto = (globalThis as unknown as { GPUAdapter?: { prototype: { requestDevice: unknown } } }).GPUAdapter?.prototype;
  if (proto) proto.requestDevice = () => Promise.reject(new Error("the device was refused (?debug=no-device)"));
}

function loseDevice(): { destroyed: boolean } {
  if (!debugHooks) throw new Error("test hooks are off (add ?debug=hooks to the address)");
  gpuDevice?.destroy();
  return { destroyed: gpuDevice !== null };
}

/** ?debug=shaders: print each WGSL compile error with its source line (WebGPU only names the failing module). */
function reportShaderErrors(): void {
  interface CompilationMessage {
    type: string;
    message: string;
    lineNum: number;
  }
  interface ShaderModule {
    getCompilationInfo(): Promise<{ messages: CompilationMessage[] }>;
  }
  type Create = (this: unknown, descriptor: { code: string; label?: string }) => ShaderModule;
  const proto = (globalThis as unknown as { GPUDevice?: { prototype: { createShaderModule: Create } } }).GPUDevice?.prototype;
  if (!proto) return;
  const create = proto.createShaderModule;
  proto.createShaderModule = function (descriptor) {
    const module = create.call(this, descriptor);
    void module.getCompilationInfo().then((info) => {
      for (const m of info.messages) {
        if (m.type !== "error") continue;
        const line = descriptor.code.split("\n")[m.lineNum - 1]?.trim() ?? "";
        console.warn(`WGSL error in ${descriptor.label ?? "a shader"}: ${m.message} (line ${m.lineNum}: ${line})`);
      }
    });
    return module;
  };
}

function stage(message: string): void {
  post({ kind: "event", event: "stage", message });
}

function progress(file: string, loaded: number, total: number, phase: ProgressEvent["phase"]): void {
  post({ kind: "event", event: "progress", file, loaded, total, phase });
}

async function openCache(bundleId: string): Promise<Cache | null> {
  try {
    return typeof caches === "undefined" ? null : await caches.open(CACHE_PREFIX + bundleId);
  } catch {
    return null; // e.g. an insecure context or storage disabled: download every time
  }
}

async function dropOtherCaches(bundleId: string): Promise<void> {
  try {
    if (typeof caches === "undefined") return;
    for (const key of await caches.keys()) {
      if (key.startsWith(CACHE_PREFIX) && key !== CACHE_PREFIX + bundleId) await caches.delete(key);
    }
  } catch {
    // best effort
  }
}

interface Fetched {
  bytes: Uint8Array<ArrayBuffer>;
  fromCache: boolean;
}

/** One tower or tokenizer file, from the cache when it is there, else downloaded. Not verified
 * here: loadBundle verifies each file as it loads it. */
async function fetchFile(manifest: ManifestHead, name: string, url: URL, cache: Cache | null): Promise<Fetched> {
  const total = manifest.files[name]!.bytes;
  if (cache) {
    try {
      const hit = await cache.match(url);
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        progress(name, bytes.byteLength, total, "verify");
        return { bytes, fromCache: true };
      }
    } catch {
      // a cache failure only costs a download
    }
  }
  const bytes = await download(name, url, total);
  progress(name, bytes.byteLength, total, "verify");
  return { bytes, fromCache: false };
}

async function store(cache: Cache | null, url: URL, bytes: Uint8Array<ArrayBuffer>): Promise<void> {
  if (!cache) return;
  try {
    await cache.put(url, new Response(bytes, { headers: { "content-type": "application/octet-stream" } }));
  } catch {
    // quota exceeded and the like: the next visit downloads again
  }
}

async function forget(cache: Cache | null, urls: URL[]): Promise<void> {
  if (!cache) return;
  try {
    await Promise.all(urls.map((url) => cache.delete(url)));
  } catch {
    // best effort: the files are downloaded again either way
  }
}

/** One classifier file: from the cache when it is there and still verifies, else downloaded, verified, cached. */
async function fetchVerified(
  manifestText: string,
  manifest: ManifestHead,
  name: string,
  url: URL,
  cache: Cache | null,
): Promise<Fetched> {
  let file = await fetchFile(manifest, name, url, cache);
  if (file.fromCache) {
    try {
      wasm.Engine.verifyFile(manifestText, name, file.bytes);
    } catch {
      await forget(cache, [url]); // stale or damaged: fetch it again
      file = await fetchFile(manifest, name, url, null);
    }
  }
  if (!file.fromCache) {
    try {
      wasm.Engine.verifyFile(manifestText, name, file.bytes);
    } catch (error) {
      throw new Error(`The model could not be loaded: ${messageOf(error)}`);
    }
    await store(cache, url, file.bytes);
  }
  const total = file.bytes.byteLength;
  progress(name, total, total, file.fromCache ? "cache" : "done");
  return file;
}

async function download(name: string, url: URL, expected: number): Promise<Uint8Array<ArrayBuffer>> {
  let response: globalThis.Response;
  try {
    response = await fetch(url, { cache: "no-cache" });
  } catch (error) {
    throw new Error(`The model file ${name} could not be downloaded (${messageOf(error)}).`);
  }
  if (!response.ok) throw new Error(`The model file ${name} could not be downloaded (HTTP ${response.status}).`);
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  let buffer = new Uint8Array(Math.max(expected, 1));
  let loaded = 0;
  let lastReport = 0;
  progress(name, 0, expected, "download");
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.byteLength > buffer.byteLength) {
      // more than the manifest says: keep it all, verification will name the mismatch
      const grown = new Uint8Array(Math.max(buffer.byteLength * 2, loaded + value.byteLength));
      grown.set(buffer.subarray(0, loaded));
      buffer = grown;
    }
    buffer.set(value, loaded);
    loaded += value.byteLength;
    const now = performance.now();
    if (now - lastReport > 80) {
      lastReport = now;
      progress(name, loaded, expected, "download");
    }
  }
  progress(name, loaded, expected, "download");
  return loaded === buffer.byteLength ? buffer : buffer.slice(0, loaded);
}

// ---------------------------------------------------------------------------------------------
// embed and classify

function ready(): Engine {
  if (!engine || !loaded) throw new Error("the model is not loaded");
  return engine;
}

const CRASH_MARK = new TextEncoder().encode("CLIP-DEBUG-CRASH");
const POOL_CRASH_MARK = new TextEncoder().encode("CLIP-DEBUG-POOL-CRASH");

function startsWith(bytes: ArrayBuffer, mark: Uint8Array): boolean {
  const head = new Uint8Array(bytes, 0, Math.min(mark.length, bytes.byteLength));
  return head.length === mark.length && head.every((b, i) => b === mark[i]);
}

async function embed(params: EmbedParams): Promise<EmbedResult> {
  const engine = ready();
  if (debugHooks && startsWith(params.bytes, CRASH_MARK)) {
    // Test hook: fail uncaught, as a crash in the engine would, without answering.
    setTimeout(() => {
      throw new Error("simulated crash while embedding this image");
    });
    return new Promise<never>(() => undefined);
  }
  if (debugHooks && startsWith(params.bytes, POOL_CRASH_MARK) && "debugPanicInPool" in wasm) {
    // Test hook (threaded module): a pool thread panics; this thread then waits for it forever.
    (wasm as ThreadedWasm).debugPanicInPool();
  }
  const started = performance.now();
  const embedding = await engine.embedImage(new Uint8Array(params.bytes));
  embeddings.set(params.imageId, embedding);
  return { imageId: params.imageId, ms: performance.now() - started, dim: embedding.length, backend: engine.backend };
}

/** Flat embeddings of the ids that have one, and the ids that do not. */
function gather(imageIds: string[]): { ids: string[]; missing: string[]; flat: Float32Array } {
  const ids: string[] = [];
  const missing: string[] = [];
  for (const id of imageIds) (embeddings.has(id) ? ids : missing).push(id);
  const dim = ids.length ? embeddings.get(ids[0]!)!.length : 0;
  const flat = new Float32Array(ids.length * dim);
  ids.forEach((id, i) => flat.set(embeddings.get(id)!, i * dim));
  return { ids, missing, flat };
}

async function search(params: SearchParams): Promise<SearchResult> {
  if (params.generation < (newestGeneration.get(params.channel) ?? -Infinity)) throw new Superseded("superseded");
  const engine = ready();
  const { ids, flat } = gather(params.imageIds);
  const started = performance.now();
  let json: string;
  if ("text" in params.query) {
    json = await engine.search(params.query.text, undefined, flat, ids.length);
  } else {
    const query = embeddings.get(params.query.imageId);
    if (!query) throw new Error("that image has no embedding yet");
    json = await engine.search("", query, flat, ids.length);
  }
  const ranked = (JSON.parse(json) as { index: number; cosine: number }[]).map((r) => ({ imageId: ids[r.index]!, cosine: r.cosine }));
  return { ranked, ms: performance.now() - started };
}

function probe(params: ProbeParams): ProbeResult {
  if (params.generation < (newestGeneration.get(params.channel) ?? -Infinity)) throw new Superseded("superseded");
  ready();
  const train = params.train.filter((t) => embeddings.has(t.imageId) && params.labels.includes(t.label));
  const classes = Uint32Array.from(train.map((t) => params.labels.indexOf(t.label)));
  const trainFlat = gather(train.map((t) => t.imageId)).flat;
  const { ids, flat } = gather(params.testIds);
  const started = performance.now();
  const out = JSON.parse(wasm.Engine.probe(trainFlat, train.length, classes, params.labels.length, params.c, flat, ids.length)) as {
    probs: number[][];
    iterations: number;
  };
  const probs: Record<string, number[]> = {};
  ids.forEach((id, i) => {
    probs[id] = out.probs[i] ?? [];
  });
  return { probs, iterations: out.iterations, ms: performance.now() - started };
}

function presetTop(params: PresetTopParams): PresetTopResult {
  const engine = ready();
  const { ids, flat } = gather(params.imageIds);
  const out = JSON.parse(engine.classifyPreset(params.preset, flat, ids.length, params.k)) as {
    preset: string;
    templates: number;
    classes: number;
    results: TopClass[][];
  };
  const results: Record<string, TopClass[]> = {};
  ids.forEach((id, i) => {
    results[id] = out.results[i] ?? [];
  });
  return { preset: out.preset, templates: out.templates, classes: out.classes, results };
}

async function classify(params: ClassifyParams): Promise<ClassifyResult> {
  if (params.generation < (newestGeneration.get(params.channel) ?? -Infinity)) throw new Superseded("superseded");
  const engine = ready();
  const { ids, missing, flat } = gather(params.imageIds);
  const started = performance.now();
  const json = await engine.classify(flat, ids.length, params.labels, params.templates, params.perTemplate ?? false, params.scale);
  const ms = performance.now() - started;
  const out = JSON.parse(json) as { labels: string[]; templates: string[]; scores: Scores[]; prompts: number; encoded: number };
  const scores: Record<string, Scores> = {};
  ids.forEach((id, i) => {
    scores[id] = out.scores[i]!;
  });
  return {
    channel: params.channel,
    generation: params.generation,
    labels: out.labels,
    templates: out.templates,
    scores,
    missing,
    prompts: out.prompts,
    encoded: out.encoded,
    ms,
  };
}
