// The page: wires the label and template editors, the gallery and the "wording matters" panel
// to the worker. All zero-shot arithmetic happens in Rust; this file only sends requests and
// draws what comes back.

import { CrashError, SupersededError, WorkerClient, type Crash } from "./client";
import { reloadIsolated } from "./isolation";
import { hasPlaceholder, type PageState, type ClassifyResult, type InitResult, type ModelInfo, type Preset, type ProgressEvent, type WorkerEvent } from "./protocol";
import { BarList } from "./ui/bars";
import { Card } from "./ui/card";
import { bestIndex, byId, h, megabytes, milliseconds, percent, sentence } from "./ui/dom";
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
  // The worker picks its wasm module from this before anything else asks it for work.
  const url = new URL(workerUrl);
  url.searchParams.set("backend", !gpu ? "cpu" : params.get("backend") === "webgpu" ? "webgpu" : "auto");
  // ?threads=N: the CPU path's pool size (1: the single-threaded module), where the page may share memory.
  const threads = params.get("threads");
  if (threads !== null && /^\d{1,2}$/.test(threads)) url.searchParams.set("threads", threads);
  client = new WorkerClient(url, onCrash);
  client.onEvent(onWorkerEvent);
  void loadModel(gpu);
}

/**
 * The worker stopped. The request it was answering is the likely culprit: if that was an image,
 * only that image is marked failed and left out, and the engine restarts on the same backend.
 * A lost GPU device moves the engine to the CPU. Crashes with no culprit are limited, so a bad
 * state cannot loop; cards, labels and templates are kept throughout.
 */
function onCrash(crash: Crash): void {
  modelReady = false;
  delete document.body.dataset.ready;
  const onGpu = backendName === "webgpu";
  const request = crash.inFlight;
  const culprit = request?.method === "embed" ? items.find((i) => i.id === request.params.imageId) : undefined;
  if (!culprit && ++restarts > MAX_RESTARTS) {
    setError("engine", `The classifier stopped (${crash.message}); reload the page to try again`);
    document.body.dataset.ready = "false";
    modelStatus.textContent = "The classifier stopped.";
    for (const item of items) if (!item.failed && !item.embedded) item.card.setStatus("error", "The classifier stopped before this image was classified.");
    return;
  }
  if (culprit) {
    failImage(culprit, `This image stopped the classifier (${crash.message}), so it was left out`);
    setError("engine", `The classifier stopped on ${culprit.name} and was restarted without it`);
  } else if (onGpu && crash.deviceLost) {
    gpuFailure = `the GPU device was lost (${crash.message})`;
    setError("engine", `The GPU device was lost (${crash.message}), so the page switched to the CPU; your images, labels and templates are kept`);
  } else if (onGpu) {
    gpuFailure = crash.message;
    setError("engine", `WebGPU failed on this device (${crash.message}), so the page switched to the CPU`);
  } else {
    setError("engine", `The classifier stopped (${crash.message}) and was restarted`);
  }
  // Every image not rejected is embedded again by the new worker.
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
  placeholder: "a label, e.g. tabby cat (several names: happy | smiling)",
  addText: "+ Add label",
  onChange: () => textChanged(),
});
const templateEditor = new ListEditor({
  kind: "template",
  toggles: true,
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
  stateChanged();
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    void classifyGallery();
    void classifyCompare();
    void classifyLabelSet();
    void runAB();
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
  /** The gallery's last zero-shot answer for this image (labels in the editor's order). */
  zeroShot: { labels: string[]; probs: number[] } | null;
}

const gallery = byId("gallery");
const items: Item[] = [];
let nextImage = 1;
let galleryGeneration = 0;

function addImage(name: string, blob: Blob, example = false, truth: string | null = null): void {
  const id = `img-${nextImage++}`;
  const url = URL.createObjectURL(blob);
  const card = new Card(name, url, example, {
    onRemove: () => removeImage(item),
    onCompare: () => setCompareSubject(item),
    onTruth: () => {
      void runAB();
      void runProbe();
    },
    onSimilar: () => similarTo(item),
    onTrain: () => void runProbe(),
  });
  card.setTruthOptions(labelEditor.values(), truth);
  const item: Item = { id, name, blob, url, example, embedded: false, failed: false, card, zeroShot: null };
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
    if (compareSubject === item) {
      void classifyCompare();
      void classifyLabelSet();
    }
    if (item.card.trueLabel !== null) void runAB();
    if (searchQuery !== null) void runSearch();
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
  if (item.card.training) void runProbe();
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
  const labels = labelEditor.values();
  let result: ClassifyResult;
  try {
    result = await client.call("classify", {
      channel: "gallery",
      generation,
      imageIds: ready.map((i) => i.id),
      labels,
      templates: templateEditor.values(),
      perTemplate: true,
      ...(scale === null ? {} : { scale }),
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
    item.card.setScores(result.labels, result.templates, scores.probs, scores.cosine, result, scale ?? model?.logitScale, scores.per_template);
    item.zeroShot = { labels, probs: scores.probs };
    item.card.setStale(false);
    item.card.setStatus("ready");
  }
  for (const item of items) item.card.setTruthOptions(result.labels);
  void runProbe();
  batchInfo.textContent =
    `Last text batch: ${milliseconds(result.ms)}; ${result.encoded} prompt${result.encoded === 1 ? "" : "s"} newly encoded, ` +
    `${result.prompts - result.encoded} reused from the cache, then ${ready.length} image${ready.length === 1 ? "" : "s"} scored.`;
  void showPresetTop(ready);
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
    labelSetBars.before.clear();
    labelSetBars.after.clear();
    labelSetVerdict.textContent = "";
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
  void classifyLabelSet();
}

async function classifyCompare(): Promise<void> {
  const item = compareSubject;
  if (!modelReady || !item || !item.embedded) return;
  const generation = ++compareGeneration;
  const labels = labelEditor.values();
  const ask = (channel: string, template: string) =>
    client.call("classify", { channel, generation, imageIds: [item.id], labels, templates: [template], ...(scale === null ? {} : { scale }) });
  let bare: ClassifyResult;
  let photo: ClassifyResult;
  try {
    [bare, photo] = await Promise.all([ask("compare-bare", BARE), ask("compare-photo", PHOTO)]);
  } catch (error) {
    if (error instanceof SupersededError || error instanceof CrashError || generation !== compareGeneration) return;
    // The labels are wrong (the gallery shows why): no numbers from before the edit stay up.
    compareBars.bare.clear();
    compareBars.photo.clear();
    compareVerdict.textContent = "";
    return;
  }
  if (generation !== compareGeneration || compareSubject !== item) return;
  const b = bare.scores[item.id];
  const p = photo.scores[item.id];
  if (!b || !p) return;
  compareBars.bare.update(bare.labels, b.probs, b.cosine, scale ?? model?.logitScale);
  compareBars.photo.update(photo.labels, p.probs, p.cosine, scale ?? model?.logitScale);
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
    info = await client.call("init", {
      preferGpu: gpu,
      allowSoftwareGpu: params.get("backend") === "webgpu",
      modelUrl,
      debugShaders: params.get("debug") === "shaders",
      debugHooks: params.get("debug") === "hooks",
      debugRefuseDevice: params.get("debug") === "no-device",
    });
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
  showPresets(info.presets, info.classifiers);
  applyLinkPreset();
  showScale();
  byId("dim").textContent = String(info.model.embeddingDim);
  document.body.dataset.ready = "true";
  void classifyGallery(); // checks the labels and templates and encodes their prompts before any image is in
  for (const item of items) if (!item.embedded && !item.failed) item.card.setStatus("working", "Embedding the image…");
  setTimeout(() => (downloadBox.hidden = true), 2000); // the status line sums it up from here
}

// ---------------------------------------------------------------------------------------------
// The CLIP paper's presets (from Rust), and precomputed classifiers for the big ones

/** Beyond this many prompts a preset's labels are not loaded into the editors: encoding them live would take minutes. */
const LIVE_PROMPTS = 2000;
let presets: Preset[] = [];
let classifiers: string[] = [];
const presetSelect = byId<HTMLSelectElement>("preset-select");
const presetNote = byId("preset-note");
const presetTopLine = byId("preset-top-line");
const presetTopToggle = byId<HTMLInputElement>("preset-top-toggle");
const presetTopSelect = byId<HTMLSelectElement>("preset-top-select");

/** A preset's label as the label editor takes it: several names joined by " | ". */
function labelText(label: string | string[]): string {
  return Array.isArray(label) ? label.join(" | ") : label;
}

function showPresets(list: Preset[], precomputed: string[]): void {
  presets = list;
  classifiers = precomputed;
  presetSelect.replaceChildren(
    h("option", { value: "" }, "choose a dataset…"),
    ...list.map((p) => h("option", { value: p.name }, `${p.title}: ${p.labels.length} classes × ${p.templates.length} template${p.templates.length === 1 ? "" : "s"}`)),
  );
  presetTopSelect.replaceChildren(
    ...precomputed.map((name) => {
      const preset = list.find((p) => p.name === name);
      return h("option", { value: name }, preset ? `${preset.templates.length} templates` : name);
    }),
  );
  presetTopLine.hidden = precomputed.length === 0;
}

presetSelect.addEventListener("change", () => {
  const preset = presets.find((p) => p.name === presetSelect.value);
  if (!preset) return;
  const prompts = preset.labels.reduce((n, l) => n + (Array.isArray(l) ? l.length : 1), 0) * preset.templates.length;
  templateEditor.set(preset.templates);
  const source = `Source: ${preset.source}.`;
  if (prompts <= LIVE_PROMPTS) {
    labelEditor.set(preset.labels.map(labelText));
    presetNote.textContent = `${preset.title}: its ${preset.labels.length} classes and ${preset.templates.length} templates are loaded. ${source}`;
  } else {
    const precomputed = classifiers.includes(preset.name)
      ? " Its classifier comes precomputed with the model: every image shows its top 5 below."
      : "";
    presetNote.textContent =
      `${preset.title} has ${preset.labels.length} classes × ${preset.templates.length} templates = ${prompts} prompts, too many to encode live here, ` +
      `so only its templates are loaded, with your labels.${precomputed} ${source}`;
    if (classifiers.includes(preset.name)) {
      presetTopSelect.value = preset.name;
      presetTopToggle.checked = true;
      void showPresetTop(items.filter((i) => i.embedded));
    }
  }
});

presetTopToggle.addEventListener("change", () => void showPresetTop(items.filter((i) => i.embedded)));
presetTopSelect.addEventListener("change", () => void showPresetTop(items.filter((i) => i.embedded)));

async function showPresetTop(ready: Item[]): Promise<void> {
  const preset = presetTopSelect.value;
  if (!modelReady || !presetTopToggle.checked || !preset || !classifiers.includes(preset)) {
    for (const item of items) item.card.setTop("", null);
    return;
  }
  if (ready.length === 0) return;
  try {
    const result = await client.call("presetTop", { preset, imageIds: ready.map((i) => i.id), k: 5 });
    const title = `ImageNet top 5 (${result.classes} classes × ${result.templates} templates, precomputed)`;
    for (const item of ready) if (items.includes(item)) item.card.setTop(title, result.results[item.id] ?? null);
  } catch (error) {
    if (!(error instanceof CrashError)) setError("preset-top", messageOf(error));
  }
}

// ---------------------------------------------------------------------------------------------
// Softmax temperature: the scale τ in softmax(τ · cosine), on a log slider from 1 to 1000

const scaleInput = byId<HTMLInputElement>("scale");
const scaleValue = byId<HTMLOutputElement>("scale-value");
/** null: the model's own τ. */
let scale: number | null = null;

function sliderToScale(position: number): number {
  return Math.round(10 ** ((3 * position) / 1000) * 100) / 100;
}

function showScale(): void {
  const tau = scale ?? model?.logitScale ?? 100;
  scaleInput.value = String(Math.round((Math.log10(Math.max(1, tau)) / 3) * 1000));
  scaleValue.textContent = `${tau.toFixed(tau >= 10 ? 0 : 2)}${scale === null ? " (the model's)" : ""}`;
  scaleInput.dataset.scale = String(tau);
}

scaleInput.addEventListener("input", () => {
  scale = sliderToScale(Number(scaleInput.value));
  showScale();
  textChanged();
});
byId("scale-reset").addEventListener("click", () => {
  scale = null;
  showScale();
  textChanged();
});

// ---------------------------------------------------------------------------------------------
// The label set is part of the classifier: the compare image with the labels, and with one more

const labelSetBars = { before: new BarList("bars compact"), after: new BarList("bars compact") };
byId("labelset-before").append(labelSetBars.before.element);
byId("labelset-after").append(labelSetBars.after.element);
const extraLabel = byId<HTMLInputElement>("extra-label");
const labelSetVerdict = byId("labelset-verdict");
let labelSetGeneration = 0;
extraLabel.addEventListener("input", () => {
  clearTimeout(labelSetDebounce);
  labelSetDebounce = setTimeout(() => void classifyLabelSet(), DEBOUNCE_MS);
});
let labelSetDebounce: ReturnType<typeof setTimeout> | undefined;

async function classifyLabelSet(): Promise<void> {
  const item = compareSubject;
  const extra = extraLabel.value.trim();
  const labels = labelEditor.values();
  if (!modelReady || !item || !item.embedded) return;
  const generation = ++labelSetGeneration;
  const templates = templateEditor.values();
  const ask = (channel: string, labelSet: string[]) =>
    client.call("classify", { channel, generation, imageIds: [item.id], labels: labelSet, templates, ...(scale === null ? {} : { scale }) });
  let before: ClassifyResult;
  let after: ClassifyResult;
  try {
    [before, after] = await Promise.all([ask("labelset-before", labels), ask("labelset-after", extra ? [...labels, extra] : labels)]);
  } catch (error) {
    if (error instanceof SupersededError || error instanceof CrashError || generation !== labelSetGeneration) return;
    labelSetBars.before.clear();
    labelSetBars.after.clear();
    labelSetVerdict.textContent = "";
    return;
  }
  if (generation !== labelSetGeneration || compareSubject !== item) return;
  const b = before.scores[item.id];
  const a = after.scores[item.id];
  if (!b || !a) return;
  labelSetBars.before.update(before.labels, b.probs, b.cosine, scale ?? model?.logitScale);
  labelSetBars.after.update(after.labels, a.probs, a.cosine, scale ?? model?.logitScale);
  const tb = bestIndex(b.probs);
  const ta = bestIndex(a.probs);
  const was = before.labels[tb] ?? "";
  const now = after.labels[ta] ?? "";
  labelSetVerdict.dataset.changed = String(ta !== tb);
  labelSetVerdict.textContent = !extra
    ? "Type a label to add."
    : ta !== tb
      ? `Adding “${extra}” changed the answer from “${was}” (${percent(b.probs[tb] ?? 0)}) to “${now}” (${percent(a.probs[ta] ?? 0)}). The image and its vector did not change, only the labels offered.`
      : `With “${extra}” added, the answer stays “${was}”, but its probability goes from ${percent(b.probs[tb] ?? 0)} to ${percent(a.probs[ta] ?? 0)}: the softmax shares probability among whatever labels are offered, so a probability says nothing about labels that were not.`;
}

// ---------------------------------------------------------------------------------------------
// A/B: top-1 accuracy of two template sets over the images that have a true label

interface TemplateSet {
  name: string;
  templates: () => string[];
}

function presetTemplates(name: string): string[] {
  return presets.find((p) => p.name === name)?.templates ?? [];
}

const TEMPLATE_SETS: Record<string, TemplateSet> = {
  bare: { name: "bare label {}", templates: () => [BARE] },
  photo: { name: "a photo of a {}.", templates: () => [PHOTO] },
  drawing: { name: "a drawing of a {}.", templates: () => ["a drawing of a {}."] },
  yours: { name: "your templates", templates: () => templateEditor.values() },
  imagenet: { name: "the paper's 80 ImageNet templates", templates: () => presetTemplates("imagenet") },
  "imagenet-7": { name: "the 7 forward-selected templates", templates: () => presetTemplates("imagenet-7") },
};
const abA = byId<HTMLSelectElement>("ab-a");
const abB = byId<HTMLSelectElement>("ab-b");
const abResult = byId("ab-result");
for (const select of [abA, abB]) {
  select.replaceChildren(...Object.entries(TEMPLATE_SETS).map(([key, set]) => h("option", { value: key }, set.name)));
  select.addEventListener("change", () => void runAB());
}
abA.value = "bare";
abB.value = "imagenet";
let abGeneration = 0;

async function runAB(): Promise<void> {
  const labels = labelEditor.values();
  const labelled = items.filter((i) => i.embedded && !i.failed && i.card.trueLabel !== null && labels.includes(i.card.trueLabel));
  const unlisted = items.filter((i) => i.card.trueLabel !== null && !labels.includes(i.card.trueLabel)).length;
  if (!modelReady) return;
  if (labelled.length === 0) {
    abResult.replaceChildren(
      h("p", { class: "muted" }, unlisted ? `${unlisted} image${unlisted === 1 ? " has a true label that is" : "s have true labels that are"} not among the labels.` : "No image has a true label yet."),
    );
    delete abResult.dataset.accuracyA;
    delete abResult.dataset.accuracyB;
    return;
  }
  const sets = { a: TEMPLATE_SETS[abA.value]!, b: TEMPLATE_SETS[abB.value]! };
  const generation = ++abGeneration;
  const ask = (channel: string, set: TemplateSet) =>
    client.call("classify", {
      channel,
      generation,
      imageIds: labelled.map((i) => i.id),
      labels,
      templates: set.templates(),
      ...(scale === null ? {} : { scale }),
    });
  let resultA: ClassifyResult;
  let resultB: ClassifyResult;
  abResult.classList.add("stale");
  try {
    [resultA, resultB] = await Promise.all([ask("ab-a", sets.a), ask("ab-b", sets.b)]);
  } catch (error) {
    if (generation === abGeneration && !(error instanceof SupersededError) && !(error instanceof CrashError)) {
      abResult.replaceChildren(h("p", { class: "error" }, sentence(messageOf(error))));
      abResult.classList.remove("stale");
    }
    return;
  }
  if (generation !== abGeneration) return;
  abResult.classList.remove("stale");
  // Which label each set picks for each image (the most probable one, as Rust scored them).
  const pick = (result: ClassifyResult, item: Item) => result.labels[bestIndex(result.scores[item.id]?.probs ?? [])] ?? "";
  const rows = labelled.map((item) => ({ item, a: pick(resultA, item), b: pick(resultB, item), truth: item.card.trueLabel! }));
  const right = (key: "a" | "b") => rows.filter((r) => r[key] === r.truth).length;
  const [ra, rb] = [right("a"), right("b")];
  const fixed = rows.filter((r) => r.a !== r.truth && r.b === r.truth);
  const broken = rows.filter((r) => r.a === r.truth && r.b !== r.truth);
  const n = rows.length;
  abResult.dataset.accuracyA = String(ra / n);
  abResult.dataset.accuracyB = String(rb / n);
  abResult.dataset.picks = JSON.stringify(Object.fromEntries(rows.map((r) => [r.item.name, [r.a, r.b]])));
  const line = (key: string, set: TemplateSet, k: number) => {
    const bar = h("span", { class: "ab-bar" });
    bar.style.setProperty("--p", String(k / n));
    return h("div", { class: "ab-line", "data-testid": `ab-${key.toLowerCase()}-line` }, h("strong", {}, `${key} · ${set.name}`), ` ${k} of ${n} right (${percent(k / n)})`, bar);
  };
  const names = (list: typeof rows) => list.map((r) => `${r.item.name} (${r.truth})`).join(", ");
  abResult.replaceChildren(
    line("A", sets.a, ra),
    line("B", sets.b, rb),
    h(
      "p",
      { class: "ab-flips" },
      fixed.length || broken.length
        ? `B fixes ${fixed.length} image${fixed.length === 1 ? "" : "s"}${fixed.length ? `: ${names(fixed)}` : ""}; B breaks ${broken.length}${broken.length ? `: ${names(broken)}` : ""}.`
        : "No image changes its answer between A and B.",
    ),
  );
}

/** The labelled example set (CC0 clip art, tests/make_labelled_set.py): its labels, and each image with its truth. */
byId("ab-load").addEventListener("click", async () => {
  let set: { labels: string[]; images: { file: string; label: string }[] };
  try {
    const response = await fetch(new URL("examples/labelled/labelled.json", location.href));
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    set = (await response.json()) as typeof set;
  } catch (error) {
    setError("examples", `The labelled example set could not be loaded (${messageOf(error)})`);
    return;
  }
  labelEditor.set(set.labels);
  await Promise.all(
    set.images.map(async ({ file, label }) => {
      try {
        const response = await fetch(new URL(`examples/labelled/${file}`, location.href));
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        addImage(file, await response.blob(), true, label);
      } catch (error) {
        setError("examples", `The labelled example ${file} could not be loaded (${messageOf(error)})`);
      }
    }),
  );
});

// ---------------------------------------------------------------------------------------------
// Few-shot linear probe: logistic regression on the training cards' image embeddings (Rust),
// shown on every other card beside zero-shot, with held-out accuracy of both

const probeResult = byId("probe-result");
const probeC = byId<HTMLInputElement>("probe-c");
const probeK = byId<HTMLSelectElement>("probe-k");
let probeGeneration = 0;

probeC.addEventListener("input", () => void runProbe());
byId("probe-pick").addEventListener("click", () => {
  // The first k labelled images of each label train; every other labelled image is held out.
  const k = Number(probeK.value);
  const taken = new Map<string, number>();
  for (const item of items) {
    const truth = item.card.trueLabel;
    if (truth === null || item.failed) continue;
    const n = taken.get(truth) ?? 0;
    item.card.setTraining(n < k);
    taken.set(truth, n + 1);
  }
  void runProbe();
});
byId("probe-clear").addEventListener("click", () => {
  for (const item of items) item.card.setTraining(false);
  void runProbe();
});

function probeMessage(text: string): void {
  probeResult.replaceChildren(h("p", { class: "muted" }, text));
  delete probeResult.dataset.accuracyProbe;
  delete probeResult.dataset.accuracyZeroShot;
  for (const item of items) item.card.setProbe(null);
}

async function runProbe(): Promise<void> {
  if (!modelReady) return;
  const labels = labelEditor.values();
  const usable = items.filter((i) => i.embedded && !i.failed);
  const train = usable.filter((i) => i.card.training && labels.includes(i.card.trueLabel!));
  const test = usable.filter((i) => !train.includes(i));
  const c = Number(probeC.value);
  const trainedLabels = new Set(train.map((i) => i.card.trueLabel));
  const generation = ++probeGeneration;
  if (trainedLabels.size < 2) {
    probeMessage(train.length ? "Mark training images of at least two different labels." : "No training images yet: give some cards a true label and tick “train”.");
    return;
  }
  if (!(c > 0 && Number.isFinite(c))) {
    probeMessage("C must be a positive number.");
    return;
  }
  let result;
  probeResult.classList.add("stale");
  try {
    result = await client.call("probe", {
      channel: "probe",
      generation,
      train: train.map((i) => ({ imageId: i.id, label: i.card.trueLabel! })),
      testIds: test.map((i) => i.id),
      labels,
      c,
    });
  } catch (error) {
    if (generation === probeGeneration && !(error instanceof SupersededError) && !(error instanceof CrashError)) {
      probeMessage(sentence(messageOf(error)));
      probeResult.classList.remove("stale");
    }
    return;
  }
  if (generation !== probeGeneration) return;
  probeResult.classList.remove("stale");
  for (const item of train) item.card.setProbe("training");
  for (const item of test) {
    const probs = result.probs[item.id];
    const zeroShot = item.zeroShot && JSON.stringify(item.zeroShot.labels) === JSON.stringify(labels) ? item.zeroShot.probs : null;
    item.card.setProbe(probs ? { labels, probs, zeroShot } : null);
  }
  // Held out: test images with a true label among the labels.
  const heldOut = test.filter((i) => i.card.trueLabel !== null && labels.includes(i.card.trueLabel) && result.probs[i.id]);
  const perLabel = labels.map((l) => train.filter((i) => i.card.trueLabel === l).length);
  const summary = h(
    "p",
    {},
    `Trained on ${train.length} image${train.length === 1 ? "" : "s"} (${labels.map((l, i) => `${perLabel[i]} ${l}`).join(", ")}) in ${milliseconds(result.ms)}, ${result.iterations} L-BFGS iterations, C = ${c}.`,
  );
  if (heldOut.length === 0) {
    probeResult.replaceChildren(summary, h("p", { class: "muted" }, "No held-out image has a true label, so there is no accuracy to show."));
    delete probeResult.dataset.accuracyProbe;
    delete probeResult.dataset.accuracyZeroShot;
    return;
  }
  const right = (pick: (i: Item) => number[] | null) => heldOut.filter((i) => labels[bestIndex(pick(i) ?? [])] === i.card.trueLabel && pick(i) !== null).length;
  const probeRight = right((i) => result.probs[i.id] ?? null);
  const zeroRight = right((i) => (i.zeroShot && JSON.stringify(i.zeroShot.labels) === JSON.stringify(labels) ? i.zeroShot.probs : null));
  const n = heldOut.length;
  probeResult.dataset.accuracyProbe = String(probeRight / n);
  probeResult.dataset.accuracyZeroShot = String(zeroRight / n);
  const line = (name: string, k: number, testid: string) => {
    const bar = h("span", { class: "ab-bar" });
    bar.style.setProperty("--p", String(k / n));
    return h("div", { class: "ab-line", "data-testid": testid }, h("strong", {}, name), ` ${k} of ${n} held-out images right (${percent(k / n)})`, bar);
  };
  probeResult.replaceChildren(summary, line(`zero-shot (your templates, no training)`, zeroRight, "probe-zero-shot-line"), line(`${Math.min(...perLabel.filter((k) => k > 0))}-shot linear probe`, probeRight, "probe-line-accuracy"));
}

// ---------------------------------------------------------------------------------------------
// Search: a text (as typed) or an image ranks the gallery by cosine, live as you type

const searchInput = byId<HTMLInputElement>("search-input");
const searchStatus = byId("search-status");
const searchClear = byId<HTMLButtonElement>("search-clear");
let searchQuery: { text: string } | { imageId: string; name: string } | null = null;
let searchGeneration = 0;
let searchDebounce: ReturnType<typeof setTimeout> | undefined;

searchInput.addEventListener("input", () => {
  clearTimeout(searchDebounce);
  const text = searchInput.value.trim();
  searchQuery = text ? { text } : null;
  searchDebounce = setTimeout(() => void runSearch(), DEBOUNCE_MS);
});
searchClear.addEventListener("click", () => {
  searchInput.value = "";
  searchQuery = null;
  void runSearch();
});

function similarTo(item: Item): void {
  if (!item.embedded) return;
  searchInput.value = "";
  searchQuery = { imageId: item.id, name: item.name };
  void runSearch();
}

async function runSearch(): Promise<void> {
  const generation = ++searchGeneration;
  if (searchQuery === null) {
    for (const item of items) item.card.setRank(null);
    searchClear.hidden = true;
    searchStatus.textContent = "The text tower ranks images too: type a description, or use “find similar” on an image.";
    delete searchStatus.dataset.query;
    return;
  }
  const ready = items.filter((i) => i.embedded && !i.failed);
  if (!modelReady || ready.length === 0) return;
  const query = searchQuery;
  let result;
  try {
    result = await client.call("search", {
      channel: "search",
      generation,
      imageIds: ready.map((i) => i.id),
      query: "text" in query ? { text: query.text } : { imageId: query.imageId },
    });
  } catch (error) {
    if (error instanceof SupersededError || error instanceof CrashError || generation !== searchGeneration) return;
    searchStatus.textContent = sentence(messageOf(error));
    return;
  }
  if (generation !== searchGeneration) return;
  result.ranked.forEach((r, rank) => items.find((i) => i.id === r.imageId)?.card.setRank(rank, r.cosine));
  searchClear.hidden = false;
  const what = "text" in query ? `“${query.text}”` : `${query.name}`;
  searchStatus.dataset.query = "text" in query ? query.text : `image:${query.name}`;
  searchStatus.textContent = `${ready.length} image${ready.length === 1 ? "" : "s"} ranked by cosine to ${what} in ${milliseconds(result.ms)}, most similar first.`;
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
// Share and embed: the settings live in the address's fragment (checked and encoded by Rust,
// crate/src/share.rs); ?embed=1 is the compact page for an iframe

const embedMode = params.get("embed") === "1";
const shareStatus = byId("share-status");
const embedCode = byId<HTMLTextAreaElement>("embed-code");
/** The link's preset, applied once the presets arrive with the model. */
let linkPreset: { name: string; labels: boolean; templates: boolean } | null = null;
let linkWritable = false;
let linkDebounce: ReturnType<typeof setTimeout> | undefined;

if (embedMode) {
  document.body.classList.add("embed");
  byId("embed-bar").hidden = false;
  // The masthead is hidden: its one-line engine and model status moves into the bar.
  const engine = document.querySelector(".engine");
  if (engine) byId("embed-bar").append(engine);
  const full = new URL(location.href);
  full.searchParams.delete("embed");
  byId<HTMLAnchorElement>("embed-open").href = full.href;
}

async function restoreLinkState(onLoad = true): Promise<void> {
  const fragment = location.hash.slice(1);
  if (fragment) {
    let state: PageState;
    try {
      state = await client.call("parseState", { fragment });
    } catch (error) {
      const instead = onLoad ? "The page shows its defaults instead" : "The page keeps its current settings";
      if (!(error instanceof CrashError)) setError("link", `${sentence(messageOf(error))} ${instead}`);
      linkWritable = true;
      return;
    }
    setError("link", null);
    if (state.labels) labelEditor.set(state.labels);
    if (state.templates) {
      templateEditor.set(state.templates.map((t) => t.text));
      for (const t of state.templates) if (!t.on) templateEditor.setOn(t.text, false);
    }
    if (state.scale !== undefined) {
      scale = state.scale;
      showScale();
    }
    if (state.ab) {
      const unknown = state.ab.filter((key) => !(key in TEMPLATE_SETS));
      if (unknown.length) setError("link", `The link names an A/B set this page does not have (${unknown.join(", ")}), so the A/B test keeps its defaults`);
      else [abA.value, abB.value] = state.ab;
    }
    if (state.c !== undefined) probeC.value = String(state.c);
    if (state.preset) linkPreset = { name: state.preset, labels: !state.labels, templates: !state.templates };
    if (modelReady) applyLinkPreset();
    textChanged();
  }
  linkWritable = true;
}

/** Called when the presets arrive: select the link's preset, loading what the link left to it. */
function applyLinkPreset(): void {
  if (!linkPreset) return;
  const preset = presets.find((p) => p.name === linkPreset!.name);
  const { labels, templates } = linkPreset;
  linkPreset = null;
  if (!preset) return;
  presetSelect.value = preset.name;
  if (labels && templates) presetSelect.dispatchEvent(new Event("change"));
  else if (templates) templateEditor.set(preset.templates);
  else if (labels) labelEditor.set(preset.labels.map(labelText));
}

function currentState(): PageState {
  const state: PageState = {};
  const preset = presets.find((p) => p.name === presetSelect.value);
  const entries = templateEditor.entries();
  const labels = labelEditor.entries().map((e) => e.value);
  if (preset) state.preset = preset.name;
  if (!preset || JSON.stringify(labels) !== JSON.stringify(preset.labels.map(labelText))) state.labels = labels;
  if (!preset || !entries.every((e) => e.on) || JSON.stringify(entries.map((e) => e.value)) !== JSON.stringify(preset.templates)) {
    state.templates = entries.map((e) => ({ text: e.value, on: e.on }));
  }
  if (scale !== null) state.scale = scale;
  state.ab = [abA.value, abB.value];
  const c = Number(probeC.value);
  if (c > 0 && Number.isFinite(c) && c !== 1) state.c = c;
  return state;
}

/** Keep the address bar in step with the settings (debounced; history is not spammed). */
function stateChanged(): void {
  if (!linkWritable) return;
  clearTimeout(linkDebounce);
  linkDebounce = setTimeout(async () => {
    try {
      const { fragment } = await client.call("encodeState", { state: currentState() });
      const url = new URL(location.href);
      url.hash = fragment;
      history.replaceState(null, "", url.href);
      document.body.dataset.linkState = fragment;
      setError("share", null);
    } catch (error) {
      if (!(error instanceof CrashError)) setError("share", `These settings are too big to share as a link (${messageOf(error)})`);
    }
  }, DEBOUNCE_MS * 2);
}

function embedSnippet(): string {
  const url = new URL(location.href);
  url.searchParams.set("embed", "1");
  url.searchParams.delete("debug");
  const src = url.href.replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  return `<iframe src="${src}" width="640" height="480" style="border:0;max-width:100%" loading="lazy" allow="camera" title="CLIP zero-shot classification, live"></iframe>`;
}

async function copy(text: string, what: string): Promise<void> {
  embedCode.value = text; // shown either way, to select by hand where copying is refused
  try {
    await navigator.clipboard.writeText(text);
    shareStatus.textContent = `The ${what} is on your clipboard.`;
  } catch {
    shareStatus.textContent = `Your browser did not allow copying: select the ${what} below and copy it.`;
    embedCode.select();
  }
}

// A link pasted into this same tab changes only the fragment: no reload, so apply it here.
// (replaceState, which keeps the address in step, fires no hashchange.)
window.addEventListener("hashchange", () => void restoreLinkState(false));
byId("share-link").addEventListener("click", () => void copy(location.href, "link"));
byId("share-embed").addEventListener("click", () => void copy(embedSnippet(), "embed code"));
for (const element of [abA, abB, probeC, presetSelect, scaleInput]) element.addEventListener("change", stateChanged);
byId("scale-reset").addEventListener("click", stateChanged);

// ---------------------------------------------------------------------------------------------
// Start

// ?debug=hooks: the browser tests reach the worker's test hooks through this.
if (params.get("debug") === "hooks") {
  (window as unknown as { clipDebug: object }).clipDebug = { loseDevice: () => client.call("loseDevice", {}) };
}

labelEditor.set(DEFAULT_LABELS);
templateEditor.set(DEFAULT_TEMPLATES);
setCompareSubject(null);
// On a host that sends no isolation headers the page first reloads under its service worker
// (isolation.ts), so that the CPU path may run on threads; nothing is started before that.
if (!(await reloadIsolated(params))) {
  startWorker(preferGpu);
  void restoreLinkState();
  void loadExamples();
}
