// The gallery: one card per image. Each image is embedded once by the worker; every edit of the
// labels, templates or τ then scores all of them again (zero-shot on every card), and each
// card's bars, heat map and true-label choices follow the answer.

import { type App, type Domain, type Item, type Stop, messageOf } from "./app";
import { CrashError, SupersededError } from "./client";
import type { ClassifyResult } from "./protocol";
import { Card } from "./ui/card";
import { byId, milliseconds, sentence } from "./ui/dom";

export class Gallery {
  private readonly element = byId("gallery");
  private readonly batchInfo = byId("batch-info");
  private nextImage = 1;
  private generation = 0;

  constructor(private readonly app: App) {
    app.on("text", () => void this.classify());
    app.on("ready", () => {
      // Checks the labels and templates and encodes their prompts before any image is in.
      void this.classify();
      for (const item of app.items) if (!item.embedded && !item.failed) item.card.setStatus("working", "Embedding the image…");
    });
    app.on("embedded", () => void this.classify());
    app.on("stopped", (stop) => this.stopped(stop));
    app.on("restarted", () => {
      for (const item of app.items) if (!item.failed) void this.embed(item);
    });
  }

  /** Add an image (the visitor's go first, ahead of the examples) and embed it. */
  add(name: string, blob: Blob, example = false, truth: string | null = null, domain: Domain = "photo"): Item {
    const app = this.app;
    const id = `img-${this.nextImage++}`;
    const url = URL.createObjectURL(blob);
    const card = new Card(name, url, example, {
      onRemove: () => this.remove(item),
      onCompare: () => app.setSubject(item),
      onTruth: () => app.emit("truth", item),
      onSimilar: () => app.emit("similar", item),
      onTrain: () => app.emit("training", item),
      onCaption: () => app.emit("caption", item),
      onDomain: () => app.emit("domain", item),
      onWrite: () => app.emit("write", item),
    }, domain);
    card.setTruthOptions(app.labelValues(), truth);
    const item: Item = { id, name, blob, url, example, embedded: false, failed: false, card, zeroShot: null };
    card.setStatus("working", app.ready ? "Embedding the image…" : "Waiting for the model…");
    app.items.push(item);
    const firstExample = example ? null : (app.items.find((i) => i.example && i !== item)?.card.element ?? null);
    this.element.insertBefore(card.element, example ? null : firstExample);
    if (!app.subject) app.setSubject(item);
    void this.embed(item);
    return item;
  }

  private async embed(item: Item): Promise<void> {
    let bytes: ArrayBuffer;
    try {
      bytes = await item.blob.arrayBuffer();
    } catch (error) {
      this.fail(item, `The file could not be read (${messageOf(error)})`);
      return;
    }
    try {
      const result = await this.app.call("embed", { imageId: item.id, bytes }, [bytes]);
      if (!this.app.items.includes(item)) return;
      item.embedded = true;
      this.app.imageMs = result.ms;
      item.card.setEmbedded(result.ms, result.backend);
      item.card.setStatus("working", "Classifying…");
      this.app.emit("embedded", item);
    } catch (error) {
      if (error instanceof CrashError) return; // the restarted worker embeds it again
      this.fail(item, `This image could not be classified: ${messageOf(error)}`);
    }
  }

  private fail(item: Item, message: string): void {
    item.failed = true;
    item.card.setStatus("error", sentence(message));
    if (this.app.subject === item) this.app.setSubject(this.app.nextSubject());
  }

  /** Empty the gallery (a session is being opened in its place). */
  removeAll(): void {
    for (const item of [...this.app.items]) this.remove(item);
  }

  private remove(item: Item): void {
    const items = this.app.items;
    const index = items.indexOf(item);
    if (index < 0) return;
    items.splice(index, 1);
    item.card.element.remove();
    URL.revokeObjectURL(item.url);
    void this.app.call("forget", { imageId: item.id }).catch(() => undefined);
    if (this.app.subject === item) this.app.setSubject(this.app.nextSubject());
    this.app.emit("removed", item);
  }

  /** The engine stopped: its culprit is left out, every other image waits for the new engine. */
  private stopped(stop: Stop): void {
    const items = this.app.items;
    if (stop.fatal) {
      for (const item of items) if (!item.failed && !item.embedded) item.card.setStatus("error", "The classifier stopped before this image was classified.");
      return;
    }
    if (stop.culprit) this.fail(stop.culprit, `This image stopped the classifier (${stop.message}), so it was left out`);
    for (const item of items) {
      if (item.failed) continue;
      item.embedded = false;
      item.card.setStatus("working", "Waiting for the model…");
    }
  }

  /** Zero-shot on every embedded image with the current labels, templates and τ. Runs with no
   * images too: Rust then checks the labels and templates and encodes the prompts ahead of the
   * first image. */
  private async classify(): Promise<void> {
    const app = this.app;
    const ready = app.items.filter((i) => i.embedded);
    if (!app.ready) return;
    const generation = ++this.generation;
    for (const item of ready) {
      item.card.setStale(true);
      item.card.element.dataset.status = "working";
    }
    const labels = app.labelValues();
    let result: ClassifyResult;
    try {
      result = await app.call("classify", {
        channel: "gallery",
        generation,
        imageIds: ready.map((i) => i.id),
        labels,
        templates: app.templateValues(),
        perTemplate: true,
        ...app.scaleParam(),
      });
    } catch (error) {
      if (error instanceof SupersededError || error instanceof CrashError || generation !== this.generation) return;
      this.textError(messageOf(error));
      for (const item of ready) if (app.items.includes(item)) item.card.setStatus("ready");
      return;
    }
    if (generation !== this.generation) return;
    this.textError(null);
    for (const item of ready) {
      const scores = result.scores[item.id];
      if (!scores || !app.items.includes(item)) continue;
      item.card.setScores(result.labels, result.templates, scores.probs, scores.cosine, result, app.tau, scores.per_template);
      item.zeroShot = {
        labels,
        classes: result.labels,
        templates: result.templates,
        probs: scores.probs,
        cosine: scores.cosine,
        perTemplate: scores.per_template ?? null,
      };
      item.card.setStale(false);
      item.card.setStatus("ready");
    }
    for (const item of app.items) item.card.setTruthOptions(result.labels);
    this.batchInfo.textContent =
      `Last text batch: ${milliseconds(result.ms)}; ${result.encoded} prompt${result.encoded === 1 ? "" : "s"} newly encoded, ` +
      `${result.prompts - result.encoded} reused from the cache, then ${ready.length} image${ready.length === 1 ? "" : "s"} scored.`;
    app.emit("scored");
  }

  /** A classification error concerns the labels or templates: Rust's words inline and in the banner. */
  private textError(message: string | null): void {
    this.app.error("classify", message);
    if (message !== null) this.app.templates.explainInvalid(sentence(message));
  }
}
