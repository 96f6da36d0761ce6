// init: the wasm module, the engine, then the bundle: manifest, towers and tokenizer (from the
// cache or downloaded, verified by Rust as they load), then the precomputed classifiers.

import type { BackendInfo, InitParams, InitResult, ModelInfo } from "../protocol";
import { messageOf, post, progress, stage } from "./events";
import { type Fetched, type ManifestHead, dropOtherCaches, fetchFile, fetchVerified, forget, openCache, sha256Of, store } from "./files";
import { refuseDevices, reportShaderErrors, watchDevice } from "./gpu";
import { type Engine, createEngine, moduleReasons, startWasm } from "./modules";

const BUNDLE_FILES = ["vision.bpk", "text.bpk", "tokenizer.json"] as const;

let engine: Engine | null = null;
let loaded = false;

/** The engine with a model loaded; the reason in one clause otherwise. */
export function loadedEngine(): Engine {
  if (!engine || !loaded) throw new Error("the model is not loaded");
  return engine;
}

export async function initialize(params: InitParams): Promise<InitResult> {
  const started = performance.now();
  const backend = await startEngine(params);
  const manifestUrl = new URL("manifest.json", params.modelUrl);
  const { manifest, manifestText } = await fetchManifest(manifestUrl);
  const cache = await openCache(manifest.bundle_id);
  const towers = await loadTowers(engine!, backend, manifest, manifestText, params.modelUrl, cache);
  const { classifiers, files } = await loadClassifiers(engine!, manifest, manifestText, params.modelUrl, cache);
  const fetched = [...towers, ...files];
  loaded = true;
  // Beside its files, so a visit without the network finds the bundle (fetchManifest).
  await store(cache, manifestUrl, new TextEncoder().encode(manifestText));
  const model = JSON.parse(engine!.modelInfo()) as ModelInfo;
  void dropOtherCaches([manifest.bundle_id, ...(params.keepBundles ?? [])]);
  stage("ready");
  return {
    backend,
    model,
    bundleId: manifest.bundle_id,
    precision: manifest.precision ?? "unknown",
    sourceRepo: manifest.source?.repo ?? null,
    classifiers,
    totalBytes: fetched.reduce((sum, f) => sum + f.bytes.byteLength, 0),
    cachedBytes: fetched.reduce((sum, f) => sum + (f.fromCache ? f.bytes.byteLength : 0), 0),
    ms: performance.now() - started,
  };
}

/** The module and the engine (created once per worker), and the backend it reports to the page. */
async function startEngine(params: InitParams): Promise<BackendInfo> {
  stage("starting the WebAssembly module");
  try {
    await startWasm();
  } catch (error) {
    throw new Error(`The WebAssembly module could not be started (${messageOf(error)}).`);
  }
  if (!engine) {
    if (params.debugShaders) reportShaderErrors();
    if (params.preferGpu) watchDevice(() => engine?.backend === "webgpu");
    if (params.debugRefuseDevice) refuseDevices();
    stage(params.preferGpu ? "asking the browser for WebGPU" : "starting the CPU backend");
    engine = await createEngine(params);
  }
  const { cpuBecause, oneThreadBecause } = moduleReasons();
  const backend: BackendInfo = {
    backend: engine.backend,
    description: engine.backend === "cpu" && oneThreadBecause !== null ? `${engine.backendDescription}, one thread: ${oneThreadBecause}` : engine.backendDescription,
    fallbackReason: cpuBecause ?? engine.fallbackReason ?? null,
  };
  post({ kind: "event", event: "backend", backend });
  return backend;
}

/** The manifest from the host; with no network at all, the one stored beside the cached bundle
 * at the last load (a host that answers, even with an error, is believed). */
async function fetchManifest(url: URL): Promise<{ manifest: ManifestHead; manifestText: string }> {
  stage("fetching the model manifest");
  let manifestText: string;
  let response: Response | undefined;
  try {
    response = await fetch(url, { cache: "no-cache" });
  } catch (error) {
    response = (await storedManifest(url)) ?? undefined;
    if (!response) throw new Error(`The model bundle could not be fetched from ${url.pathname} (${messageOf(error)}).`);
  }
  try {
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    manifestText = await response.text();
  } catch (error) {
    throw new Error(`The model bundle could not be fetched from ${url.pathname} (${messageOf(error)}).`);
  }
  let manifest: ManifestHead;
  try {
    manifest = JSON.parse(manifestText) as ManifestHead;
    if (typeof manifest.bundle_id !== "string" || typeof manifest.files !== "object") throw new Error("fields missing");
  } catch (error) {
    throw new Error(`The model manifest is not valid JSON with bundle_id and files (${messageOf(error)}).`);
  }
  if (!manifest.files["tokenizer.json"]) throw new Error("The model manifest lists no tokenizer.json.");
  return { manifest, manifestText };
}

async function storedManifest(url: URL): Promise<Response | null> {
  try {
    return (await caches.match(url)) ?? null;
  } catch {
    return null;
  }
}

/**
 * The towers and the tokenizer into the engine. loadBundle checks every file's size and sha256
 * against the manifest as it loads it (once: hashing 150 MB twice cost a visible part of the
 * load), so files are cached only after it accepted them; a cached copy that fails (an
 * interrupted write, storage trouble) is downloaded once more.
 */
async function loadTowers(engine: Engine, backend: BackendInfo, manifest: ManifestHead, manifestText: string, base: string, cache: Cache | null): Promise<Fetched[]> {
  const names = BUNDLE_FILES.filter((name) => manifest.files[name]);
  const urls = names.map((name) => new URL(name, base));
  const fetchAll = (from: Cache | null) => Promise.all(names.map((name, i) => fetchFile(manifest, name, urls[i]!, from)));
  const load = async (files: Fetched[]) => {
    const bytes = new Map(names.map((name, i) => [name, files[i]!.bytes] as const));
    stage(`loading the model into ${backend.backend === "webgpu" ? "WebGPU" : "the CPU backend"}`);
    // The digests come from the browser's WebCrypto where it has one.
    const digests = await sha256Of(bytes);
    engine.loadBundle(manifestText, bytes.get("vision.bpk"), bytes.get("text.bpk"), bytes.get("tokenizer.json")!, digests);
  };
  let fetched = await fetchAll(cache);
  try {
    await load(fetched);
  } catch (error) {
    if (!fetched.some((f) => f.fromCache)) throw new Error(`The model could not be loaded: ${messageOf(error)}`);
    await forget(cache, urls);
    fetched = await fetchAll(null);
    try {
      await load(fetched);
    } catch (retryError) {
      throw new Error(`The model could not be loaded: ${messageOf(retryError)}`);
    }
  }
  await Promise.all(
    fetched.map(async (file, i) => {
      if (!file.fromCache) await store(cache, urls[i]!, file.bytes);
      progress(names[i]!, file.bytes.byteLength, file.bytes.byteLength, file.fromCache ? "cache" : "done");
    }),
  );
  return fetched;
}

/** Precomputed preset classifiers (≈1 MB each): fetched, verified and cached like the towers. */
async function loadClassifiers(engine: Engine, manifest: ManifestHead, manifestText: string, base: string, cache: Cache | null): Promise<{ classifiers: string[]; files: Fetched[] }> {
  const entries = (manifest.classifiers ?? []).filter((c) => typeof c.file === "string" && manifest.files[c.file]);
  const files = await Promise.all(entries.map((c) => fetchVerified(manifestText, manifest, c.file, new URL(c.file, base), cache)));
  const classifiers = entries.map((c, i) => {
    try {
      return engine.addClassifier(manifestText, c.file, files[i]!.bytes);
    } catch (error) {
      throw new Error(`The model's ${c.preset} classifier could not be loaded: ${messageOf(error)}`);
    }
  });
  return { classifiers, files };
}
