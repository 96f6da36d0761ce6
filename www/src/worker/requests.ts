// The requests a loaded engine answers: embed an image (cached by the page's id), then
// classify, search, probe and preset top-k over cached embeddings. Each converts between the
// page's ids and the engine's flat arrays; the arithmetic is Rust's.

import type {
  ContrastParams,
  ContrastResult,
  DomainShiftParams,
  DomainShiftResult,
  LabelledImage,
  ShotCurveParams,
  ShotCurveResult,
  TemplateCurveParams,
  TemplateCurveResult,
  ClassifyParams,
  ClassifyResult,
  EmbedParams,
  EmbedResult,
  PresetTopParams,
  PresetTopResult,
  ProbeParams,
  ProbeResult,
  Scores,
  SearchParams,
  SearchResult,
  TopClass,
} from "../protocol";
import { Superseded } from "./events";
import { loadedEngine } from "./load";
import { type ThreadedWasm, wasm } from "./modules";

/** Image embeddings by the page's image id: computed once, reused by every text edit. */
const embeddings = new Map<string, Float32Array>();
/** Newest generation seen per channel (at arrival, so queued older ones can be dropped). */
const newestGeneration = new Map<string, number>();
let debugHooks = false;

/** A request on a channel arrived: requests queued before it on that channel are now stale. */
export function arrived(channel: string, generation: number): void {
  newestGeneration.set(channel, Math.max(newestGeneration.get(channel) ?? -Infinity, generation));
}

function dropIfSuperseded(params: { channel: string; generation: number }): void {
  if (params.generation < (newestGeneration.get(params.channel) ?? -Infinity)) throw new Superseded("superseded");
}

export function setDebugHooks(on: boolean): void {
  debugHooks = on;
}

export function hooksOn(): boolean {
  return debugHooks;
}

const CRASH_MARK = new TextEncoder().encode("CLIP-DEBUG-CRASH");
const POOL_CRASH_MARK = new TextEncoder().encode("CLIP-DEBUG-POOL-CRASH");

function startsWith(bytes: ArrayBuffer, mark: Uint8Array): boolean {
  const head = new Uint8Array(bytes, 0, Math.min(mark.length, bytes.byteLength));
  return head.length === mark.length && head.every((b, i) => b === mark[i]);
}

export async function embed(params: EmbedParams): Promise<EmbedResult> {
  const engine = loadedEngine();
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

export function forget(imageId: string): { forgotten: boolean } {
  return { forgotten: embeddings.delete(imageId) };
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

/** `values[i]` under `ids[i]`; ids without a value get `missing`, or are left out without one. */
function byId<T>(ids: string[], values: T[], missing?: T): Record<string, T> {
  const entries = ids.map((id, i) => [id, values[i] ?? missing] as const);
  return Object.fromEntries(entries.filter((e): e is readonly [string, T] => e[1] !== undefined));
}

export async function classify(params: ClassifyParams): Promise<ClassifyResult> {
  dropIfSuperseded(params);
  const engine = loadedEngine();
  const { ids, missing, flat } = gather(params.imageIds);
  const started = performance.now();
  const json = await engine.classify(flat, ids.length, params.labels, params.templates, params.perTemplate ?? false, params.scale);
  const ms = performance.now() - started;
  const out = JSON.parse(json) as { labels: string[]; templates: string[]; scores: Scores[]; prompts: number; encoded: number };
  return {
    channel: params.channel,
    generation: params.generation,
    labels: out.labels,
    templates: out.templates,
    scores: byId(ids, out.scores),
    missing,
    prompts: out.prompts,
    encoded: out.encoded,
    ms,
  };
}

export async function search(params: SearchParams): Promise<SearchResult> {
  dropIfSuperseded(params);
  const engine = loadedEngine();
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

export function probe(params: ProbeParams): ProbeResult {
  dropIfSuperseded(params);
  loadedEngine();
  const train = params.train.filter((t) => embeddings.has(t.imageId) && params.labels.includes(t.label));
  const classes = Uint32Array.from(train.map((t) => params.labels.indexOf(t.label)));
  const trainFlat = gather(train.map((t) => t.imageId)).flat;
  const { ids, flat } = gather(params.testIds);
  const started = performance.now();
  const out = JSON.parse(wasm.Engine.probe(trainFlat, train.length, classes, params.labels.length, params.c, flat, ids.length)) as {
    probs: number[][];
    iterations: number;
  };
  return { probs: byId(ids, out.probs, []), iterations: out.iterations, ms: performance.now() - started };
}

/** The labelled images that have an embedding and one of `labels`: flat embeddings, class indices. */
function gatherLabelled(labelled: LabelledImage[], labels: string[]) {
  const kept = labelled.filter((l) => embeddings.has(l.imageId) && labels.includes(l.label));
  const { flat } = gather(kept.map((l) => l.imageId));
  return { kept, flat, truth: Uint32Array.from(kept.map((l) => labels.indexOf(l.label))) };
}

export async function contrast(params: ContrastParams): Promise<ContrastResult> {
  dropIfSuperseded(params);
  const engine = loadedEngine();
  const kept = params.imageIds.map((id, i) => ({ id, caption: params.captions[i] ?? "" })).filter((p) => embeddings.has(p.id));
  const { flat } = gather(kept.map((p) => p.id));
  const captions = [...kept.map((p) => p.caption), ...params.negatives];
  const started = performance.now();
  const out = JSON.parse(await engine.contrast(flat, kept.length, captions, params.scale)) as Omit<ContrastResult, "imageIds" | "captions" | "ms">;
  return { ...out, imageIds: kept.map((p) => p.id), captions, ms: performance.now() - started };
}

export async function shotCurve(params: ShotCurveParams): Promise<ShotCurveResult> {
  dropIfSuperseded(params);
  const engine = loadedEngine();
  const { kept, flat, truth } = gatherLabelled(params.labelled, params.labels);
  const started = performance.now();
  const json = await engine.shotCurve(flat, kept.length, truth, params.labels, params.templates, Uint32Array.from(params.shots), params.draws, BigInt(params.seed), params.c);
  const out = JSON.parse(json) as Omit<ShotCurveResult, "ms" | "curve" | "imageIds"> & { curve: { k: number; mean: number; min: number; max: number; draws: { train: number[]; accuracy: number }[] }[] };
  const curve = out.curve.map((p) => ({ ...p, draws: p.draws.map((d) => ({ accuracy: d.accuracy, train: d.train.map((i) => kept[i]!.imageId) })) }));
  return { ...out, curve, imageIds: kept.map((l) => l.imageId), ms: performance.now() - started };
}

export async function templateCurve(params: TemplateCurveParams): Promise<TemplateCurveResult> {
  dropIfSuperseded(params);
  const engine = loadedEngine();
  const { kept, flat, truth } = gatherLabelled(params.labelled, params.labels);
  const started = performance.now();
  const json = await engine.templateCurve(flat, kept.length, truth, params.labels, params.templates, params.greedy);
  const steps = (JSON.parse(json) as { templates: number[]; accuracy: number; mean_true_prob: number }[]).map((s) => ({
    ...s,
    templates: s.templates.map((t) => params.templates[t]!),
  }));
  return { greedy: params.greedy, steps, imageIds: kept.map((l) => l.imageId), ms: performance.now() - started };
}

export async function domainShift(params: DomainShiftParams): Promise<DomainShiftResult> {
  dropIfSuperseded(params);
  const engine = loadedEngine();
  const { kept, flat, truth } = gatherLabelled(params.labelled, params.labels);
  const domains = kept.map((l) => l.domain ?? "other");
  const started = performance.now();
  const json = await engine.domainShift(flat, kept.length, truth, domains, params.labels, params.templates, params.trainDomain, params.draws, BigInt(params.seed), params.c);
  return { ...(JSON.parse(json) as Omit<DomainShiftResult, "ms" | "imageIds">), imageIds: kept.map((l) => l.imageId), ms: performance.now() - started };
}

export function presetTop(params: PresetTopParams): PresetTopResult {
  const engine = loadedEngine();
  const { ids, flat } = gather(params.imageIds);
  const out = JSON.parse(engine.classifyPreset(params.preset, flat, ids.length, params.k)) as {
    preset: string;
    templates: number;
    classes: number;
    results: TopClass[][];
  };
  return { preset: out.preset, templates: out.templates, classes: out.classes, results: byId(ids, out.results, []) };
}
