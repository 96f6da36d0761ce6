// Which wasm module runs, and starting it. WebGPU needs the larger module (13.7 MB, 3.4 MB
// gzipped: cubecl's kernel compiler and wgpu); without a usable GPU adapter the page runs the CPU
// path, so it fetches the module with only that (4.2 MB, 1.3 MB gzipped), threaded where the page
// may share memory. The adapter check is the one the engine makes (wgpu marks a browser's
// fallback adapter, a software renderer, as a CPU), so both modules pick the same backend.

import * as withGpu from "clip-wasm";
import * as cpuOnly from "clip-wasm-cpu";
import type { InitParams } from "../protocol";
import { messageOf, stage } from "./events";

/** Both builds export the same API (one Rust crate, built with its `wgpu` or its `cpu` feature). */
export interface Wasm {
  default: (init: { module_or_path: URL }) => Promise<unknown>;
  Engine: typeof withGpu.Engine;
}
export type Engine = withGpu.Engine;

/**
 * The threaded CPU module (pkg-threads/, built with the `threads` feature): not bundled here, as
 * its pool workers import its glue themselves. It needs shared memory, which browsers give only
 * to cross-origin isolated pages (COOP + COEP headers, as www/serve.mjs sends), and a build that
 * has it (a nightly toolchain: build.sh says when it skipped it).
 */
declare const THREADS_MODULE: boolean;
export interface ThreadedWasm extends Wasm {
  initThreadPool(threads: number): Promise<void>;
  /** Test hook: a pool thread panics while this thread waits for it (never returns). */
  debugPanicInPool(): void;
}

const address = new URL(self.location.href).searchParams;
/**
 * Which module the page asked for, in the worker's address (`worker.js?backend=`): `cpu`, `webgpu`
 * (a software adapter too: `?backend=webgpu`) or `auto` (a GPU adapter if there is one).
 */
const asked = address.get("backend") ?? "auto";
/** Threads asked for in the page's address (`?threads=N`; 1 keeps the single-threaded module). */
const threadsAsked = Number.parseInt(address.get("threads") ?? "", 10);

/** The module in use, once started. */
export let wasm: Wasm = withGpu;
/** Why the CPU module runs (null: the WebGPU one does). */
let cpuBecause: string | null = null;
/** Why the CPU path runs on one thread (null: on several); shown beside the backend. */
let oneThreadBecause: string | null = null;
let started: Promise<unknown> | null = null;

/** The wasm module, started once (link state and the engine both wait on it); a failed start is tried again next time. */
export function startWasm(): Promise<unknown> {
  started ??= (async () => {
    cpuBecause = await reasonForCpu();
    if (cpuBecause === null) {
      wasm = withGpu;
      return startModule(withGpu);
    }
    return startCpuModule();
  })().catch((error: unknown) => {
    started = null;
    throw error;
  });
  return started;
}

/** Why the WebGPU module is not in use, and why the CPU path runs on one thread, when they apply. */
export function moduleReasons(): { cpuBecause: string | null; oneThreadBecause: string | null } {
  return { cpuBecause, oneThreadBecause };
}

/**
 * The engine on the module started. The WebGPU module has no CPU path of its own: when it finds
 * no usable device after all (the adapter refuses a device, or is a software one), it says why,
 * and the CPU module takes over with that reason shown.
 */
export async function createEngine(params: InitParams): Promise<Engine> {
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

/** Fetch and instantiate the WebGPU module or the single-threaded CPU one (each glue has its own module file). */
function startModule(module: Wasm): Promise<unknown> {
  const file = module === withGpu ? "./pkg/clip_bg.wasm" : "./pkg/clip_cpu_bg.wasm";
  return module.default({ module_or_path: new URL(file, import.meta.url) });
}

/** How many pool threads the CPU path gets, or why it runs on one. */
function cpuThreads(): number | string {
  if (!THREADS_MODULE) return "this build has no threaded module";
  if (threadsAsked === 1) return "one thread was asked for";
  if (!(self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated) return "the page is not cross-origin isolated";
  const cores = navigator.hardwareConcurrency || 1;
  const threads = Number.isInteger(threadsAsked) && threadsAsked > 1 ? Math.min(threadsAsked, 16) : Math.min(cores, 8);
  return threads > 1 ? threads : "this device reports one core";
}

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
