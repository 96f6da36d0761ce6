// The engine's lifecycle as the page sees it: the worker is started once and replaced if it
// crashes (a Rust panic), on the CPU if WebGPU failed; the model is loaded into each new one; the
// masthead shows the backend, the download's progress and the model's status.

import { type App, messageOf } from "./app";
import { CrashError, WorkerClient, type Crash } from "./client";
import type { Api, InitResult, Method, ProgressEvent, WorkerEvent } from "./protocol";
import { byId, h, megabytes, milliseconds } from "./ui/dom";

/** Restarts with no image to blame before the page gives up (a bad state must not loop). */
const MAX_RESTARTS = 2;

export class Engine {
  private client: WorkerClient | null = null;
  private readonly preferGpu: boolean;
  private backendName = "";
  /** Why the CPU runs although WebGPU was asked for, when WebGPU failed after it started. */
  private gpuFailure: string | null = null;
  private restarts = 0;
  private readonly backendBox = byId("backend");
  private readonly status = byId("model-status");
  private readonly progress = new DownloadProgress(byId("download"));

  constructor(private readonly app: App) {
    this.preferGpu = app.params.get("backend") !== "cpu";
    app.connect(this);
  }

  call<M extends Method>(method: M, params: Api[M]["params"], transfer: Transferable[] = []): Promise<Api[M]["result"]> {
    if (!this.client) return Promise.reject(new CrashError("the classifier has not started"));
    return this.client.call(method, params, transfer);
  }

  /** Start the worker and load the model into it. */
  start(gpu = this.preferGpu): void {
    this.client = new WorkerClient(workerUrl(this.app.params, gpu), (crash) => this.onCrash(crash));
    this.client.onEvent((event) => this.onEvent(event));
    if (this.app.presets.length === 0) void this.loadPresets();
    void this.load(gpu);
  }

  /** The paper's presets, from Rust: the worker answers at once, before any model is loaded. */
  private async loadPresets(): Promise<void> {
    try {
      const { presets } = await this.call("presets", {});
      this.app.presets = presets;
      this.app.error("presets", null);
      this.app.emit("presets", presets);
    } catch (error) {
      if (!(error instanceof CrashError)) this.app.error("presets", `The paper's presets could not be read (${messageOf(error)})`);
    }
  }

  /** Run another of the site's models: a new worker loads it, and every image is embedded
   * again; labels, templates and everything typed stay. */
  switchModel(name: string): void {
    this.app.modelName = name;
    this.app.imageMs = null;
    this.app.ready = false;
    delete document.body.dataset.ready;
    this.client?.terminate("the model was switched");
    this.restarts = 0;
    this.status.textContent = `Loading ${name}…`;
    this.app.emit("stopped", { culprit: null, message: "the model was switched", fatal: false });
    this.start(this.preferGpu && this.gpuFailure === null);
    this.app.emit("restarted");
  }

  /** Whether the engine runs on the CPU (where a bigger model costs the most time). */
  get onCpu(): boolean {
    return this.backendName === "cpu";
  }

  /**
   * The worker stopped. The request it was answering is the likely culprit: if that was an
   * image, only that image is left out and the engine restarts on the same backend. A lost GPU
   * device moves the engine to the CPU. Crashes with no culprit are limited; cards, labels and
   * templates are kept throughout.
   */
  private onCrash(crash: Crash): void {
    this.app.ready = false;
    delete document.body.dataset.ready;
    const request = crash.inFlight;
    const culprit = request?.method === "embed" ? (this.app.items.find((i) => i.id === request.params.imageId) ?? null) : null;
    if (!culprit && ++this.restarts > MAX_RESTARTS) {
      this.app.error("engine", `The classifier stopped (${crash.message}); reload the page to try again`);
      document.body.dataset.ready = "false";
      this.status.textContent = "The classifier stopped.";
      this.app.emit("stopped", { culprit: null, message: crash.message, fatal: true });
      return;
    }
    const onGpu = this.backendName === "webgpu";
    if (culprit) {
      this.app.error("engine", `The classifier stopped on ${culprit.name} and was restarted without it`);
    } else if (onGpu && crash.deviceLost) {
      this.gpuFailure = `the GPU device was lost (${crash.message})`;
      this.app.error("engine", `The GPU device was lost (${crash.message}), so the page switched to the CPU; your images, labels and templates are kept`);
    } else if (onGpu) {
      this.gpuFailure = crash.message;
      this.app.error("engine", `WebGPU failed on this device (${crash.message}), so the page switched to the CPU`);
    } else {
      this.app.error("engine", `The classifier stopped (${crash.message}) and was restarted`);
    }
    this.app.emit("stopped", { culprit, message: crash.message, fatal: false });
    this.start(this.preferGpu && this.gpuFailure === null);
    this.app.emit("restarted");
  }

  private onEvent(event: WorkerEvent): void {
    if (event.event === "backend") this.showBackend(event.backend.backend, event.backend.description, event.backend.fallbackReason);
    else if (event.event === "progress") this.progress.show(event);
    else if (event.event === "stage" && !this.app.ready) this.status.textContent = `${event.message.charAt(0).toUpperCase()}${event.message.slice(1)}…`;
  }

  private async load(gpu: boolean): Promise<void> {
    const params = this.app.params;
    let info: InitResult;
    try {
      info = await this.call("init", {
        preferGpu: gpu,
        allowSoftwareGpu: params.get("backend") === "webgpu",
        modelUrl: modelUrl(this.app.modelName),
        keepBundles: this.app.models.map((m) => m.bundleId),
        debugShaders: params.get("debug") === "shaders",
        debugHooks: params.get("debug") === "hooks",
        debugRefuseDevice: params.get("debug") === "no-device",
      });
    } catch (error) {
      if (error instanceof CrashError) return; // onCrash has taken over
      this.app.error("model", messageOf(error));
      document.body.dataset.ready = "false";
      this.status.textContent = "No model is loaded; labels and templates can still be edited.";
      return; // queued images are answered "the model is not loaded" on their cards
    }
    this.app.model = info.model;
    this.app.classifiers = info.classifiers;
    this.app.ready = true;
    this.app.error("model", null);
    const cached =
      info.cachedBytes === info.totalBytes ? ", all from the browser cache" : info.cachedBytes > 0 ? `, ${megabytes(info.cachedBytes)} from the browser cache` : "";
    this.status.textContent =
      `Model ready in ${milliseconds(info.ms)}: ${info.sourceRepo ?? "CLIP"} (${info.precision}, ${megabytes(info.totalBytes)}${cached}), ` +
      `${info.model.imageSize}px images, ${info.model.embeddingDim}-d embeddings.`;
    document.body.dataset.ready = "true";
    this.app.emit("ready", info);
    this.progress.hideSoon(); // the status line sums it up from here
  }

  private showBackend(backend: string, description: string, reason: string | null): void {
    this.backendName = backend;
    const box = this.backendBox;
    box.dataset.backend = backend;
    const fallbackReason = this.gpuFailure !== null ? `WebGPU failed while running: ${this.gpuFailure}` : reason;
    // Some adapters (SwiftShader among them) report no name.
    const shown = /:\s*$/.test(description) ? `${description.trim()} unnamed adapter` : description;
    box.replaceChildren(
      h("span", { class: "pill" }, h("strong", {}, backend === "webgpu" ? "WebGPU" : "CPU"), h("span", { class: "backend-desc" }, ` ${shown}`)),
    );
    if (fallbackReason) box.append(h("span", { class: "fallback" }, `WebGPU not used: ${fallbackReason}`));
    box.title = fallbackReason ? `${shown}\nWhy not WebGPU: ${fallbackReason}` : shown;
  }
}

/** The engine's worker script: it picks its wasm module from `backend` before any request.
 * ?threads=N in the page's address: the CPU path's pool size (1: the single-threaded module). */
export function workerUrl(params: URLSearchParams, gpu: boolean): URL {
  const url = new URL("./worker.js", import.meta.url);
  url.searchParams.set("backend", !gpu ? "cpu" : params.get("backend") === "webgpu" ? "webgpu" : "auto");
  const threads = params.get("threads");
  if (threads !== null && /^\d{1,2}$/.test(threads)) url.searchParams.set("threads", threads);
  return url;
}

/** Where a model's bundle is served (its directory under models/). */
export function modelUrl(name: string): string {
  return new URL(`models/${name}/`, location.href).href;
}

/** One progress bar per bundle file while it downloads and is verified. */
class DownloadProgress {
  private readonly rows = new Map<string, { bar: HTMLProgressElement; text: HTMLSpanElement }>();

  constructor(private readonly box: HTMLElement) {}

  show(event: ProgressEvent): void {
    let row = this.rows.get(event.file);
    if (!row) {
      const bar = h("progress", { max: "1", value: "0" });
      const text = h("span", { class: "progress-text" });
      this.box.append(h("div", { class: "progress-row" }, h("span", { class: "progress-name" }, event.file), bar, text));
      row = { bar, text };
      this.rows.set(event.file, row);
      this.box.hidden = false;
    }
    const fraction = event.total > 0 ? Math.min(1, event.loaded / event.total) : 0;
    row.bar.max = 1;
    row.bar.value = fraction;
    const amount = `${megabytes(event.loaded)} of ${megabytes(event.total)} (${Math.floor(fraction * 100)}%)`;
    row.text.textContent = {
      download: amount,
      verify: `${megabytes(event.total)}, checking sha256…`,
      cache: `${megabytes(event.total)} from the browser cache, verified`,
      done: `${megabytes(event.total)} downloaded, verified`,
    }[event.phase];
  }

  hideSoon(): void {
    setTimeout(() => (this.box.hidden = true), 2000);
  }
}
