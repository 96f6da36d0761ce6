// The page: wires the label and template editors, the gallery and the "wording matters" panel
// to the worker. All zero-shot arithmetic happens in Rust; this file only sends requests and
// draws what comes back.

import { CrashError, SupersededError, WorkerClient } from "./client";
import { hasPlaceholder, type ClassifyResult, type InitResult, type ModelInfo, type ProgressEvent, type WorkerEvent } from "./protocol";
import { BarList } from "./ui/bars";
import { Card } from "./ui/card";
import { byId, h, megabytes, milliseconds, percent, sentence } from "./ui/dom";
import { ListEditor } from "./ui/list-editor";

// ---------------------------------------------------------------------------------------------
// Settings

const DEFAULT_LABELS = ["cat", "astronaut", "cup of coffee", "rocket"];
const DEFAULT_TEMPLATES = ["a photo of a {}."];
const EXAMPLES = ["chelsea.jpg", "astronaut.jpg", "coffee.jpg", "rocket.jpg"];
const BARE = "{}";
const PHOTO = "a photo of a {}.";
const DEBOUNCE_MS = 150;

/** Template sets to start from. The 7-template ensemble is the subset of the paper's 80 ImageNet
 * templates that the CLIP authors' prompt-engineering notebook found to work best together. */
const PRESETS: { name: string; templates: string[] }[] = [
  { name: "bare label", templates: [BARE] },
  { name: "a photo of a {}.", templates: [PHOTO] },
  {
    name: "CLIP's 7-template ensemble",
    templates: [
      "itap of a {}.",
      "a bad photo of the {}.",
      "a origami {}.",
      "a photo of the large {}.",
      "a {} in a video game.",
      "art of the {}.",
      "a photo of the small {}.",
    ],
  },
];

const params = new URLSearchParams(location.search);
const preferGpu = params.get("backend") !== "cpu";
const modelName = /^[\w.-]+$/.test(params.get("model") ?? "") ? params.get("model")! : "default";

// ---------------------------------------------------------------------------------------------
// Errors: one sentence each, by source, shown in the banner until their cause is gone.

const errorBox = byId("errors");
const errors = new Map<string, string>();

function setError(source: string, message: string | null): void {
  if (message === null) errors.delete(source);
  else errors.set(source, sentence(message));
  errorBox.replaceChildren(...[...errors.values()].map((m) => h("p", {}, m)));
  errorBox.hidden = errors.size === 0;
}

// ---------------------------------------------------------------------------------------------
// Worker: started once; replaced if it crashes (a Rust panic), on the CPU if WebGPU was in use.

const workerUrl = new URL("./worker.js", import.meta.url);
let client: WorkerClient;
let model: ModelInfo | null = null;
let modelReady = false;
let backendName = "";
/** Why the CPU runs although WebGPU was asked for, when WebGPU failed after it started. */
let gpuFailure: string | null = null;
let restarts = 0;
const MAX_RESTARTS = 2;

function startWorker(gpu: boolean): void {
  client = new WorkerClient(workerUrl, onCrash);
  client.onEvent(onWorkerEvent);
  void loadModel(gpu);
}

function onCrash(message: string): void {
  modelReady = false;
  delete document.body.dataset.ready;
  const onGpu = backendName === "webgpu";
  if (++restarts > MAX_RESTARTS) {
    setError("engine", `The classifier stopped (${message}); reload the page to try again`);
    document.body.dataset.ready = "false";
    modelStatus.textContent = "The classifier stopped.";
    for (const item of items) if (!item.failed && !item.embedded) item.card.setStatus("error", "The classifier stopped before this image was classified.");
    return;
  }
  if (onGpu) gpuFailure = message;
  setError(
    "engine",
    onGpu
      ? `WebGPU failed on this device (${message}), so the page switched to the CPU`
      : `The classifier stopped (${message}) and was restarted`,
  );
  // Every image that was not rejected as a bad file is embedded again by the new worker.
  for (const item of items) {
    if (item.failed) continue;
    item.embedded = false;
    item.card.setStatus("working", "Waiting for the model…");
  }
  startWorker(preferGpu && gpuFailure === null);
  for (const item of items) if (!item.failed) void embed(item);
}

// ---------------------------------------------------------------------------------------------
// Label and template editors

const labelEditor = new ListEditor({
  kind: "label",
  placeholder: "a label, e.g. tabby cat",
  addText: "+ Add label",
  onChange: () => textChanged(),
});
const templateEditor = new ListEditor({
  kind: "template",
  placeholder: "a template with {}, e.g. a sketch of a {}.",
  addText: "+ Add template",
  onChange: () => textChanged(),
  check: (value) =>
    value.trim() === "" || hasPlaceholder(value) ? null : "This template has no {} placeholder, so the label has nowhere to go.",
});
byId("labels").append(labelEditor.element);
byId("templates").append(templateEditor.element);

const presetBox = byId("presets");
for (const preset of PRESETS) {
  const button = h("button", { type: "button", class: "chip", title: preset.templates.join("\n") }, preset.name);
  button.addEventListener("click", () => templateEditor.set(preset.templates));
  presetBox.append(button);
}

let debounce: ReturnType<typeof setTimeout> | undefined;
function textChanged(): void {
  updatePromptCount();
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    void classifyGallery();
    void classifyCompare();
  }, DEBOUNCE_MS);
}

const promptCount = byId("prompt-count");
const batchInfo = byId("batch-info");
function updatePromptCount(): void {
  const l = labelEditor.values().length;
  const t = templateEditor.values().length;
  promptCount.textContent = `${l} label${l === 1 ? "" : "s"} × ${t} template${t === 1 ? "" : "s"} = ${l * t} prompt${l * t === 1 ? "" : "s"} for the text tower.`;
}

// ---------------------------------------------------------------------------------------------
// Gallery

interface Item {
  id: string;
  name: string;
  blob: Blob;
  url: string;
  example: boolean;
  embedded: boolean;
  failed: boolean;
  card: Card;
}

const gallery = byId("gallery");
const items: Item[] = [];
let nextImage = 1;
let galleryGeneration = 0;

function addImage(name: string, blob: Blob, example = false): void {
  const id = `img-${nextImage++}`;
  const url = URL.createObjectURL(blob);
  const card = new Card(name, url, example, {
    onRemove: () => removeImage(item),
    onCompare: () => setCompareSubject(item),
  });
  const item: Item = { id, name, blob, url, example, embedded: false, failed: false, card };
  card.setStatus("working", modelReady ? "Embedding the image…" : "Waiting for the model…");
  items.push(item);
  // The visitor's own images go first, ahead of the examples.
  const firstExample = example ? null : items.find((i) => i.example && i !== item)?.card.element ?? null;
  gallery.insertBefore(card.element, example ? null : firstExample);
  if (!compareSubject) setCompareSubject(item);
  void embed(item);
}

async function embed(item: Item): Promise<void> {
  let bytes: ArrayBuffer;
  try {
    bytes = await item.blob.arrayBuffer();
  } catch (error) {
    failImage(item, `The file could not be read (${messageOf(error)})`);
    return;
  }
  try {
    const result = await client.call("embed", { imageId: item.id, bytes }, [bytes]);
    if (!items.includes(item)) return;
    item.embedded = true;
    item.card.setEmbedded(result.ms, result.backend);
    item.card.setStatus("working", "Classifying…");
    void classifyGallery();
    if (compareSubject === item) void classifyCompare();
  } catch (error) {
    if (error instanceof CrashError) return; // the restarted worker embeds it again
    failImage(item, `This image could not be classified: ${messageOf(error)}`);
  }
}

function failImage(item: Item, message: string): void {
  item.failed = true;
  item.card.setStatus("error", sentence(message));
  if (compareSubject === item) setCompareSubject(items.find((i) => !i.failed) ?? null);
}

function removeImage(item: Item): void {
  const index = items.indexOf(item);
  if (index < 0) return;
  items.splice(index, 1);
  item.card.element.remove();
  URL.revokeObjectURL(item.url);
  void client.call("forget", { imageId: item.id }).catch(() => undefined);
  if (compareSubject === item) setCompareSubject(items.find((i) => !i.failed) ?? null);
}

async function classifyGallery(): Promise<void> {
  // Runs with no images too: Rust then checks the labels and templates and encodes the prompts
  // ahead of the first image.
  const ready = items.filter((i) => i.embedded);
  if (!modelReady) return;
  const generation = ++galleryGeneration;
  for (const item of ready) {
    item.card.setStale(true);
    item.card.element.dataset.status = "working";
  }
  let result: ClassifyResult;
  try {
    result = await client.call("classify", {
      channel: "gallery",
      generation,
      imageIds: ready.map((i) => i.id),
      labels: labelEditor.values(),
      templates: templateEditor.values(),
    });
  } catch (error) {
    if (error instanceof SupersededError || error instanceof CrashError || generation !== galleryGeneration) return;
    textError(messageOf(error));
    for (const item of ready) if (items.includes(item)) item.card.setStatus("ready");
    return;
  }
  if (generation !== galleryGeneration) return;
  textError(null);
  for (const item of ready) {
    const scores = result.scores[item.id];
    if (!scores || !items.includes(item)) continue;
    item.card.setScores(result.labels, result.templates, scores.probs, scores.cosine, result, model?.logitScale);
    item.card.setStale(false);
    item.card.setStatus("ready");
  }
  batchInfo.textContent =
    `Last text batch: ${milliseconds(result.ms)}; ${result.encoded} prompt${result.encoded === 1 ? "" : "s"} newly encoded, ` +
    `${result.prompts - result.encoded} reused from the cache, then ${ready.length} image${ready.length === 1 ? "" : "s"} scored.`;
}

/** A classification error concerns the labels or templates: show Rust's words inline and in the banner. */
function textError(message: string | null): void {
  setError("classify", message);
  if (message !== null) templateEditor.explainInvalid(sentence(message));
}

// ---------------------------------------------------------------------------------------------
// "Wording matters": one image, the bare label against "a photo of a {}."

const compareBars = { bare: new BarList("bars compact"), photo: new BarList("bars compact") };
byId("compare-bare").append(compareBars.bare.element);
byId("compare-photo").append(compareBars.photo.element);
const compareSubjectLine = byId("compare-subject");
const compareThumb = byId<HTMLImageElement>("compare-thumb");
const compareVerdict = byId("compare-verdict");
let compareSubject: Item | null = null;
let compareGeneration = 0;

function setCompareSubject(item: Item | null): void {
  compareSubject = item;
  for (const i of items) i.card.setComparing(i === item);
  if (!item) {
    compareSubjectLine.textContent = "Add an image to compare the two wordings on it.";
    compareThumb.hidden = true;
    compareBars.bare.clear();
    compareBars.photo.clear();
    compareVerdict.textContent = "";
    return;
  }
  compareThumb.src = item.url;
  compareThumb.alt = item.name;
  compareThumb.hidden = false;
  compareSubjectLine.textContent = `Image: ${item.name}`;
  void classifyCompare();
}

async function classifyCompare(): Promise<void> {
  const item = compareSubject;
  if (!modelReady || !item || !item.embedded) return;
  const generation = ++compareGeneration;
  const labels = labelEditor.values();
  const ask = (channel: string, template: string) =>
    client.call("classify", { channel, generation, imageIds: [item.id], labels, templates: [template] });
  let bare: ClassifyResult;
  let photo: ClassifyResult;
  try {
    [bare, photo] = await Promise.all([ask("compare-bare", BARE), ask("compare-photo", PHOTO)]);
  } catch {
    return; // superseded, or the same label error the gallery already shows
  }
  if (generation !== compareGeneration || compareSubject !== item) return;
  const b = bare.scores[item.id];
  const p = photo.scores[item.id];
  if (!b || !p) return;
  compareBars.bare.update(bare.labels, b.probs, b.cosine, model?.logitScale);
  compareBars.photo.update(photo.labels, p.probs, p.cosine, model?.logitScale);
  // The label whose probability moves most between the two wordings (display arithmetic only).
  let most = 0;
  bare.labels.forEach((_, i) => {
    if (Math.abs((p.probs[i] ?? 0) - (b.probs[i] ?? 0)) > Math.abs((p.probs[most] ?? 0) - (b.probs[most] ?? 0))) most = i;
  });
  const label = bare.labels[most];
  compareVerdict.textContent =
    label === undefined
      ? ""
      : `Only the wording changed, yet “${label}” goes from ${percent(b.probs[most] ?? 0)} to ${percent(p.probs[most] ?? 0)}.`;
}

// ---------------------------------------------------------------------------------------------
// Model: backend, download progress, ready

const backendBox = byId("backend");
const modelStatus = byId("model-status");
const downloadBox = byId("download");
const progressRows = new Map<string, { bar: HTMLProgressElement; text: HTMLSpanElement }>();

function showBackend(backend: string, description: string, reason: string | null): void {
  backendName = backend;
  backendBox.dataset.backend = backend;
  const fallbackReason = gpuFailure !== null ? `WebGPU failed while running: ${gpuFailure}` : reason;
  // Some adapters (SwiftShader among them) report no name.
  const shown = /:\s*$/.test(description) ? `${description.trim()} unnamed adapter` : description;
  backendBox.replaceChildren(
    h("span", { class: "pill" }, h("strong", {}, backend === "webgpu" ? "WebGPU" : "CPU"), h("span", { class: "backend-desc" }, ` ${shown}`)),
  );
  if (fallbackReason) backendBox.append(h("span", { class: "fallback" }, `WebGPU not used: ${fallbackReason}`));
  backendBox.title = fallbackReason ? `${shown}\nWhy not WebGPU: ${fallbackReason}` : shown;
}

function showProgress(event: ProgressEvent): void {
  let row = progressRows.get(event.file);
  if (!row) {
    const bar = h("progress", { max: "1", value: "0" });
    const text = h("span", { class: "progress-text" });
    downloadBox.append(h("div", { class: "progress-row" }, h("span", { class: "progress-name" }, event.file), bar, text));
    row = { bar, text };
    progressRows.set(event.file, row);
    downloadBox.hidden = false;
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

function onWorkerEvent(event: WorkerEvent): void {
  if (event.event === "backend") showBackend(event.backend.backend, event.backend.description, event.backend.fallbackReason);
  else if (event.event === "progress") showProgress(event);
  else if (event.event === "stage" && !modelReady) modelStatus.textContent = `${event.message.charAt(0).toUpperCase()}${event.message.slice(1)}…`;
}

async function loadModel(gpu: boolean): Promise<void> {
  const modelUrl = new URL(`models/${modelName}/`, location.href).href;
  let info: InitResult;
  try {
    info = await client.call("init", { preferGpu: gpu, modelUrl, debugShaders: params.get("debug") === "shaders" });
  } catch (error) {
    if (error instanceof CrashError) return; // onCrash has taken over
    setError("model", messageOf(error));
    document.body.dataset.ready = "false";
    modelStatus.textContent = "No model is loaded; labels and templates can still be edited.";
    return; // queued images are answered "the model is not loaded" on their cards
  }
  model = info.model;
  modelReady = true;
  setError("model", null);
  const cached = info.cachedBytes === info.totalBytes ? ", all from the browser cache" : info.cachedBytes > 0 ? `, ${megabytes(info.cachedBytes)} from the browser cache` : "";
  modelStatus.textContent =
    `Model ready in ${milliseconds(info.ms)}: ${info.sourceRepo ?? "CLIP"} (${info.precision}, ${megabytes(info.totalBytes)}${cached}), ` +
    `${info.model.imageSize}px images, ${info.model.embeddingDim}-d embeddings.`;
  byId("tau").textContent = info.model.logitScale.toFixed(info.model.logitScale >= 10 ? 0 : 2);
  byId("dim").textContent = String(info.model.embeddingDim);
  document.body.dataset.ready = "true";
  void classifyGallery(); // checks the labels and templates and encodes their prompts before any image is in
  for (const item of items) if (!item.embedded && !item.failed) item.card.setStatus("working", "Embedding the image…");
  setTimeout(() => (downloadBox.hidden = true), 2000); // the status line sums it up from here
}

// ---------------------------------------------------------------------------------------------
// Adding images: file picker, drag and drop, paste, webcam

const fileInput = byId<HTMLInputElement>("file-input");
fileInput.addEventListener("change", () => {
  for (const file of fileInput.files ?? []) addImage(file.name, file);
  fileInput.value = "";
});

let dragDepth = 0;
document.addEventListener("dragenter", (e) => {
  if (!e.dataTransfer?.types.includes("Files")) return;
  dragDepth++;
  document.body.classList.add("dragging");
});
document.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) document.body.classList.remove("dragging");
});
document.addEventListener("dragover", (e) => {
  if (e.dataTransfer?.types.includes("Files")) e.preventDefault();
});
document.addEventListener("drop", (e) => {
  dragDepth = 0;
  document.body.classList.remove("dragging");
  const files = e.dataTransfer?.files;
  if (!files || files.length === 0) return;
  e.preventDefault();
  for (const file of files) addImage(file.name, file);
});

let pasted = 0;
document.addEventListener("paste", (e) => {
  const files = [...(e.clipboardData?.files ?? [])];
  if (files.length === 0) return; // plain text goes into the focused input as usual
  e.preventDefault();
  for (const file of files) {
    pasted++;
    addImage(file.name && file.name !== "image.png" ? file.name : `pasted-${pasted}.png`, file);
  }
});

const webcamButton = byId<HTMLButtonElement>("webcam-open");
const webcamPanel = byId("webcam");
const webcamVideo = byId<HTMLVideoElement>("webcam-video");
let webcamStream: MediaStream | null = null;
let snapshots = 0;
if (typeof navigator.mediaDevices?.getUserMedia !== "function") {
  webcamButton.hidden = true; // no camera API here (e.g. an insecure context)
} else {
  webcamButton.addEventListener("click", async () => {
    try {
      webcamStream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 } }, audio: false });
    } catch (error) {
      setError("webcam", `The webcam could not be opened (${messageOf(error)})`);
      return;
    }
    setError("webcam", null);
    webcamVideo.srcObject = webcamStream;
    webcamPanel.hidden = false;
  });
  byId("webcam-snap").addEventListener("click", () => {
    const canvas = h("canvas", { width: String(webcamVideo.videoWidth), height: String(webcamVideo.videoHeight) });
    canvas.getContext("2d")?.drawImage(webcamVideo, 0, 0);
    canvas.toBlob((blob) => {
      if (blob) addImage(`webcam-${++snapshots}.png`, blob);
      else setError("webcam", "The webcam snapshot could not be taken");
    }, "image/png");
  });
  byId("webcam-close").addEventListener("click", closeWebcam);
}

function closeWebcam(): void {
  for (const track of webcamStream?.getTracks() ?? []) track.stop();
  webcamStream = null;
  webcamVideo.srcObject = null;
  webcamPanel.hidden = true;
}

async function loadExamples(): Promise<void> {
  const fetched = await Promise.all(
    EXAMPLES.map(async (name) => {
      try {
        const response = await fetch(new URL(`examples/${name}`, location.href));
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        return { name, blob: await response.blob() };
      } catch (error) {
        setError("examples", `The example photo ${name} could not be loaded (${messageOf(error)})`);
        return null;
      }
    }),
  );
  for (const example of fetched) if (example) addImage(example.name, example.blob, true);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------------------------------------
// Start

labelEditor.set(DEFAULT_LABELS);
templateEditor.set(DEFAULT_TEMPLATES);
setCompareSubject(null);
startWorker(preferGpu);
void loadExamples();
