// The page ↔ worker protocol. The worker owns the one Engine (wasm + WebGPU/CPU); the page
// sends it requests and gets one response per request, plus events (backend chosen, download
// progress) that belong to no request.
//
// To grow the protocol, add an entry to `Api` and its handler in worker/requests.ts (or, for a
// request that needs only the wasm module and no model, in worker.ts's `immediate`);
// `WorkerClient.call` is typed from this table.

/** The wasm engine's backend, as the worker first reports it. */
export interface BackendInfo {
  /** "webgpu" or "cpu" */
  backend: string;
  /** Adapter name, e.g. "BrowserWebGpu: SwiftShader ..." or "CPU (burn-flex, wasm SIMD)". */
  description: string;
  /** Why WebGPU is not in use (null when it is). */
  fallbackReason: string | null;
}

/** From Engine.modelInfo(). `logitScale` is exp(logit_scale): the softmax temperature's inverse. */
export interface ModelInfo {
  imageSize: number;
  patchSize: number;
  embeddingDim: number;
  logitScale: number;
}

/** One image's zero-shot scores, in label order, exactly as Rust computed them. */
export interface Scores {
  probs: number[];
  cosine: number[];
  /** With `perTemplate`: each template's own probabilities, `[template][label]`. */
  per_template?: number[][];
}

/** One of the CLIP paper's prompt presets, as Rust ships them (a label may be several names). */
export interface Preset {
  name: string;
  title: string;
  source: string;
  labels: (string | string[])[];
  templates: string[];
}

export interface InitParams {
  /** Try WebGPU first (falls back to the CPU on its own); false forces the CPU. */
  preferGpu: boolean;
  /** Use a software WebGPU adapter (SwiftShader) too: only when the address asks (?backend=webgpu). */
  allowSoftwareGpu: boolean;
  /** Absolute URL of the bundle directory, ending in "/" (manifest.json lives there). */
  modelUrl: string;
  /** Log WGSL compile errors to the console (?debug=shaders), for diagnosing WebGPU failures. */
  debugShaders: boolean;
  /** Test hooks (?debug=hooks): `loseDevice` destroys the GPU device, an image whose bytes start
   * with "CLIP-DEBUG-CRASH" makes the worker fail uncaught while embedding it, and one starting
   * with "CLIP-DEBUG-POOL-CRASH" makes a thread of the threaded CPU module's pool panic. */
  debugHooks?: boolean;
  /** Bundle ids of the site's other models, whose cached files stay (the rest, an older
   * deploy's, are dropped). */
  keepBundles?: string[];
  /** Test hook (?debug=no-device): every WebGPU adapter refuses a device, so the WebGPU module
   * hands over to the CPU module as it would for an adapter short of a limit the engine needs. */
  debugRefuseDevice?: boolean;
}

export interface InitResult {
  backend: BackendInfo;
  model: ModelInfo;
  bundleId: string;
  precision: string;
  /** The checkpoint the bundle was converted from, when the manifest records it. */
  sourceRepo: string | null;
  /** Presets whose zero-shot classifier the bundle ships precomputed (e.g. "imagenet"). */
  classifiers: string[];
  /** Total bytes of the bundle's files, and how many of them came from the Cache API. */
  totalBytes: number;
  cachedBytes: number;
  ms: number;
}

export interface EmbedParams {
  /** The page's id for the image; the worker caches the embedding under it. */
  imageId: string;
  /** Encoded image bytes (PNG, JPEG, WebP, GIF, BMP); transferred, not copied. */
  bytes: ArrayBuffer;
}

export interface EmbedResult {
  imageId: string;
  /** Milliseconds for decode + preprocess + vision tower. */
  ms: number;
  dim: number;
  backend: string;
}

export interface ClassifyParams {
  /**
   * Requests on one channel supersede each other: a queued request whose generation is below
   * the newest seen on its channel is dropped unanswered except for `superseded: true`.
   * (The gallery and the comparison panel are separate channels.)
   */
  channel: string;
  generation: number;
  /** Images whose cached embeddings are scored; ids without an embedding are listed in `missing`. */
  imageIds: string[];
  /** As typed: "happy | smiling" is one class with two names. */
  labels: string[];
  templates: string[];
  /** Also each template's own probabilities (no extra text-tower work). */
  perTemplate?: boolean;
  /** The softmax scale τ; absent: the model's own. */
  scale?: number;
}

export interface ClassifyResult {
  channel: string;
  generation: number;
  /** As Rust echoes them. */
  labels: string[];
  templates: string[];
  /** Scores by image id. */
  scores: Record<string, Scores>;
  missing: string[];
  /** Prompts (label × template) in this request, and how many ran through the text tower (the rest were cached). */
  prompts: number;
  encoded: number;
  ms: number;
}

export interface ForgetParams {
  imageId: string;
}

/** Rank images by cosine to a text (as typed) or to one of the images. */
export interface SearchParams {
  channel: string;
  generation: number;
  imageIds: string[];
  /** A text query, or the id of the image to find similar ones to. */
  query: { text: string } | { imageId: string };
}

export interface SearchResult {
  /** Highest cosine first. */
  ranked: { imageId: string; cosine: number }[];
  ms: number;
}

/** Fit the few-shot linear probe on labelled image embeddings and apply it to others. */
export interface ProbeParams {
  channel: string;
  generation: number;
  /** Training images with their label (one of `labels`). */
  train: { imageId: string; label: string }[];
  testIds: string[];
  labels: string[];
  /** scikit-learn's C: inverse strength of the L2 penalty on the weights. */
  c: number;
}

export interface ProbeResult {
  /** Per test image, probabilities over `labels`, as Rust's probe computed them. */
  probs: Record<string, number[]>;
  iterations: number;
  ms: number;
}

/** An image of the gallery with its true label (and, for distribution shift, its domain). */
export interface LabelledImage {
  imageId: string;
  label: string;
  domain?: string;
}

/** The gallery as one training batch (crate/src/contrast.rs): image i paired with caption i. */
export interface ContrastParams {
  channel: string;
  generation: number;
  imageIds: string[];
  /** One per image, as typed (no template); then hard negatives, with no image of their own. */
  captions: string[];
  negatives: string[];
  scale?: number;
}

/** Matrices are rows = images, columns = captions (pairs, then negatives); all Rust's. */
export interface ContrastResult {
  imageIds: string[];
  captions: string[];
  cosine: number[][];
  logits: number[][];
  image_to_text: number[][];
  text_to_image: number[][];
  loss_images: number;
  loss_texts: number;
  loss: number;
  wrong_images: number[];
  wrong_captions: number[];
  scale: number;
  ms: number;
}

/** The probe fitted on k images per label over seeded random draws, against zero-shot. */
export interface ShotCurveParams {
  channel: string;
  generation: number;
  labelled: LabelledImage[];
  labels: string[];
  templates: string[];
  shots: number[];
  draws: number;
  seed: number;
  c: number;
}

export interface ShotCurveResult {
  /** The labelled images used, in the order Rust saw them (the draws depend on it). */
  imageIds: string[];
  zero_shot_accuracy: number;
  overtakes_at: number | null;
  skipped: number[];
  /** Each draw's training images as the page's ids. */
  curve: { k: number; mean: number; min: number; max: number; draws: { train: string[]; accuracy: number }[] }[];
  ms: number;
}

/** Zero-shot accuracy on the labelled images as templates are added, in order or greedily. */
export interface TemplateCurveParams {
  channel: string;
  generation: number;
  labelled: LabelledImage[];
  labels: string[];
  templates: string[];
  greedy: boolean;
}

export interface TemplateCurveResult {
  /** The labelled images used, in the order Rust saw them (the draws depend on it). */
  imageIds: string[];
  greedy: boolean;
  steps: { templates: string[]; accuracy: number; mean_true_prob: number }[];
  ms: number;
}

/** A probe fitted on one domain's labelled images, zero-shot and the probe on every domain. */
export interface DomainShiftParams {
  channel: string;
  generation: number;
  labelled: LabelledImage[];
  labels: string[];
  templates: string[];
  trainDomain: string;
  draws: number;
  seed: number;
  c: number;
}

export interface DomainShiftResult {
  /** The labelled images used, in the order Rust saw them (the draws depend on it). */
  imageIds: string[];
  train_domain: string;
  k: number;
  draws: number;
  domains: { domain: string; images: number; zero_shot: number; probe: number | null; probe_min: number | null; probe_max: number | null }[];
  ms: number;
}

/** The page's shareable settings (crate/src/share.rs checks and encodes them). Never images. */
export interface PageState {
  preset?: string;
  labels?: string[];
  templates?: { text: string; on: boolean }[];
  scale?: number;
  ab?: [string, string];
  c?: number;
}

/** Top classes of a preset with its precomputed classifier (ImageNet: 1000 classes × 80 templates). */
export interface PresetTopParams {
  preset: string;
  imageIds: string[];
  k: number;
}

export interface TopClass {
  label: string;
  index: number;
  prob: number;
}

export interface PresetTopResult {
  preset: string;
  templates: number;
  classes: number;
  /** By image id, best first. */
  results: Record<string, TopClass[]>;
}

/** Every request the worker answers: its parameters and its result. */
/** One model the site offers (www/build.mjs writes the list into models/index.json). */
export interface SiteModel {
  /** Its directory under models/, and its name in the address (?model=). */
  name: string;
  repo: string | null;
  precision: string | null;
  bundleId: string;
  /** Every file of the bundle: what a first visit downloads. */
  bytes: number;
  /** The manifest's model config, for the cost estimate (Rust reads it). */
  config: unknown;
}

export interface ModelCostsParams {
  configs: unknown[];
  /** One of them timed here: its index and milliseconds per image. */
  measured: [number, number] | null;
}

/** Rust's crate::cost::Estimate. */
export interface ModelEstimate {
  parameters: number;
  image_macs: number;
  /** Expected here, scaled from the timed model; null without one. */
  ms_per_image: number | null;
}

export interface Api {
  init: { params: InitParams; result: InitResult };
  embed: { params: EmbedParams; result: EmbedResult };
  classify: { params: ClassifyParams; result: ClassifyResult };
  forget: { params: ForgetParams; result: { forgotten: boolean } };
  presetTop: { params: PresetTopParams; result: PresetTopResult };
  search: { params: SearchParams; result: SearchResult };
  probe: { params: ProbeParams; result: ProbeResult };
  contrast: { params: ContrastParams; result: ContrastResult };
  shotCurve: { params: ShotCurveParams; result: ShotCurveResult };
  templateCurve: { params: TemplateCurveParams; result: TemplateCurveResult };
  domainShift: { params: DomainShiftParams; result: DomainShiftResult };
  /** Every preset of the paper, from Rust (answered at once, even while a model loads). */
  presets: { params: Record<string, never>; result: { presets: Preset[] } };
  /** Immediate too: what each model costs, and its expected time per image here. */
  modelCosts: { params: ModelCostsParams; result: { estimates: ModelEstimate[] } };
  /** A link's fragment → its checked state (answered at once, even while a model loads). */
  parseState: { params: { fragment: string }; result: PageState };
  /** A state → the fragment that restores it. */
  encodeState: { params: { state: PageState }; result: { fragment: string } };
  /** Test hook (only with `debugHooks`): destroy the WebGPU device, as a driver reset would. */
  loseDevice: { params: Record<string, never>; result: { destroyed: boolean } };
}

export type Method = keyof Api;

export type Request = { [M in Method]: { kind: "request"; id: number; method: M; params: Api[M]["params"] } }[Method];

export type Response =
  | { kind: "response"; id: number; ok: true; result: Api[Method]["result"] }
  | { kind: "response"; id: number; ok: false; error: string; superseded: boolean };

/** Files of the bundle, one event per update. */
export interface ProgressEvent {
  kind: "event";
  event: "progress";
  file: string;
  loaded: number;
  total: number;
  /** "download" while streaming, "cache" when read from the Cache API, "verify", "done". */
  phase: "download" | "cache" | "verify" | "done";
}

export interface BackendEvent {
  kind: "event";
  event: "backend";
  backend: BackendInfo;
}

export interface StageEvent {
  kind: "event";
  event: "stage";
  /** What the worker is doing now, for the status line ("loading the model into WebGPU"). */
  message: string;
}

/**
 * Rust panicked (its panic hook writes to console.error; the worker forwards the message). After a
 * panic the wasm instance cannot be trusted and a pending request may never be answered, so the
 * page replaces the worker.
 */
export interface PanicEvent {
  kind: "event";
  event: "panic";
  message: string;
}

/** The worker began answering request `id` (so a crash can be pinned on the request in flight). */
export interface StartedEvent {
  kind: "event";
  event: "started";
  id: number;
}

/** The WebGPU device is gone (driver reset, GPU removed, or destroyed); the engine cannot go on. */
export interface DeviceLostEvent {
  kind: "event";
  event: "device-lost";
  message: string;
}

export type WorkerEvent = ProgressEvent | BackendEvent | StageEvent | PanicEvent | StartedEvent | DeviceLostEvent;

export type FromWorker = Response | WorkerEvent;

/** Rust's check, mirrored only to point at the offending input early; Rust still decides. */
export function hasPlaceholder(template: string): boolean {
  return template.includes("{}");
}

/** A Rust panic report ("panicked at file:line:col:\nmessage\n - While ...\n\nStack: ...", as
 * console_error_panic_hook writes it) → the message's first part, on one line. Used for the
 * engine's thread (worker.ts) and for the pool threads' reports (client.ts). */
export function panicMessage(text: string): string {
  const body = text.replace(/^panicked at [^\n]*\n/, "").split(/\n\s*\nStack:|\n - While/)[0] ?? text;
  const line = body.split(/\s+/).join(" ").trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}
