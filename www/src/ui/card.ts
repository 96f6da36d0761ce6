// One gallery card: the image, its status, its bars, and how long each step took.

import { BarList } from "./bars";
import { bestIndex, h, milliseconds, percent } from "./dom";
import { Heatmap } from "./heatmap";

export type CardStatus = "working" | "ready" | "error";

export interface CardHandlers {
  onRemove: () => void;
  onCompare: () => void;
  /** The visitor set (or cleared, with null) the image's true label. */
  onTruth: (label: string | null) => void;
  /** Rank the other images by their similarity to this one. */
  onSimilar: () => void;
  /** The visitor made the image a training example of the few-shot probe, or took it out. */
  onTrain: (training: boolean) => void;
  /** The caption the contrastive lesson pairs with this image was edited. */
  onCaption: () => void;
  /** The visitor said what kind of picture it is (photo, drawing, other). */
  onDomain: () => void;
  /** "write on it": make a copy with a word drawn onto the image. */
  onWrite: () => void;
}

/** What kind of picture an image is, for the distribution-shift lesson. */
export const DOMAINS = ["photo", "drawing", "other"] as const;
export type Domain = (typeof DOMAINS)[number];

export class Card {
  readonly element: HTMLElement;
  readonly bars = new BarList();
  readonly heatmap = new Heatmap();
  private readonly statusLine: HTMLParagraphElement;
  private readonly top: HTMLElement;
  private readonly truth: HTMLSelectElement;
  private truthValue: string | null = null;
  private readonly imageMeta: HTMLSpanElement;
  private readonly textMeta: HTMLSpanElement;
  private readonly compareButton: HTMLButtonElement;
  private readonly similarButton: HTMLButtonElement;
  private readonly rankBadge: HTMLSpanElement;
  private readonly train: HTMLInputElement;
  private readonly probeLine: HTMLParagraphElement;
  private readonly captionInput: HTMLInputElement;
  private readonly domainSelect: HTMLSelectElement;

  constructor(name: string, url: string, example: boolean, handlers: CardHandlers, domain: Domain = "photo") {
    const img = h("img", { src: url, alt: name, loading: "lazy", decoding: "async" });
    img.addEventListener("error", () => img.classList.add("broken"), { once: true });
    this.statusLine = h("p", { class: "card-status", role: "status" });
    this.imageMeta = h("span", { class: "meta-image" });
    this.textMeta = h("span", { class: "meta-text" });
    this.compareButton = h("button", { type: "button", class: "link", title: "Show this image in the “Wording matters” panel" }, "compare wording");
    this.compareButton.addEventListener("click", handlers.onCompare);
    this.similarButton = h("button", { type: "button", class: "link", "data-testid": "find-similar", title: "Rank the other images by how similar CLIP finds them to this one" }, "find similar");
    this.similarButton.addEventListener("click", handlers.onSimilar);
    this.rankBadge = h("span", { class: "rank-badge", "data-testid": "search-cosine", hidden: "" });
    const remove = h("button", { type: "button", class: "remove", "aria-label": `remove ${name}`, title: "Remove" }, "×");
    remove.addEventListener("click", handlers.onRemove);
    this.top = h("section", { class: "preset-top", "data-testid": "preset-top", hidden: "" });
    this.truth = h("select", { class: "truth", "data-testid": "truth", "aria-label": `true label of ${name}` });
    this.truth.addEventListener("change", () => {
      this.truthValue = this.truth.value === "" ? null : this.truth.value;
      this.element.dataset.truth = this.truthValue ?? "";
      this.syncTrain();
      handlers.onTruth(this.truthValue);
    });
    this.train = h("input", { type: "checkbox", "data-testid": "train", "aria-label": `use ${name} to train the few-shot probe` });
    this.train.addEventListener("change", () => {
      this.syncTrain();
      handlers.onTrain(this.train.checked);
    });
    this.probeLine = h("p", { class: "probe-line", "data-testid": "probe-line", hidden: "" });
    this.captionInput = h("input", {
      class: "caption",
      "data-testid": "caption",
      type: "text",
      maxlength: "300",
      "aria-label": `caption of ${name} in the training batch`,
      title: "The caption this image is paired with in “How CLIP was trained”; empty: its true label's prompt",
    });
    this.captionInput.addEventListener("input", handlers.onCaption);
    this.domainSelect = h(
      "select",
      { class: "domain", "data-testid": "domain", "aria-label": `what kind of picture ${name} is` },
      ...DOMAINS.map((d) => h("option", { value: d, selected: d === domain ? "" : undefined }, d)),
    );
    this.domainSelect.addEventListener("change", () => {
      this.element.dataset.domain = this.domainSelect.value;
      handlers.onDomain();
    });
    const write = h("button", { type: "button", class: "link", "data-testid": "write-on", title: "Make a copy of this image with a word written on it" }, "write on it");
    write.addEventListener("click", handlers.onWrite);
    this.element = h(
      "article",
      { class: "card", "data-testid": "image-card", "data-name": name, "data-status": "working", "data-example": example ? "true" : undefined },
      h(
        "div",
        { class: "card-top" },
        h("div", { class: "thumb" }, img),
        h(
          "div",
          { class: "card-info" },
          h("header", { class: "card-head" }, h("span", { class: "card-name", title: name }, name), example ? h("span", { class: "tag" }, "example") : null, this.rankBadge, remove),
          this.statusLine,
          h("p", { class: "card-meta" }, this.imageMeta, this.textMeta, " ", this.compareButton, " ", this.similarButton),
          h("p", { class: "truth-line" }, h("label", {}, "true label: ", this.truth), " ", h("label", { class: "train-label", title: "A training example for the few-shot probe" }, this.train, " train"), " ", h("label", { title: "What kind of picture this is, for the photos-against-drawings lesson" }, "kind ", this.domainSelect)),
          h("p", { class: "caption-line" }, h("label", {}, "caption: ", this.captionInput), " ", write),
        ),
      ),
      this.bars.element,
      this.probeLine,
      this.heatmap.element,
      this.top,
    );
    this.heatmap.clear();
    this.element.dataset.domain = domain;
  }

  /** The caption as typed (empty: the lesson's default). */
  get caption(): string {
    return this.captionInput.value.trim();
  }

  setCaption(text: string): void {
    this.captionInput.value = text;
  }

  /** What the caption is when none is typed, shown greyed in the box. */
  setDefaultCaption(text: string): void {
    this.captionInput.placeholder = text;
  }

  get domain(): Domain {
    return this.domainSelect.value as Domain;
  }

  setDomain(domain: Domain): void {
    this.domainSelect.value = domain;
    this.element.dataset.domain = domain;
  }

  /** The labels the true label can be chosen from; keeps the choice when it is still offered. */
  setTruthOptions(labels: string[], truth: string | null = this.truthValue): void {
    const options = [h("option", { value: "" }, "—"), ...labels.map((l) => h("option", { value: l }, l))];
    if (truth !== null && !labels.includes(truth)) options.push(h("option", { value: truth }, `${truth} (not a label now)`));
    this.truth.replaceChildren(...options);
    this.truth.value = truth ?? "";
    this.truthValue = truth;
    this.element.dataset.truth = truth ?? "";
    this.syncTrain();
  }

  get trueLabel(): string | null {
    return this.truthValue;
  }

  /** A training example of the probe: ticked, with a true label to learn from. */
  get training(): boolean {
    return this.train.checked && this.truthValue !== null;
  }

  setTraining(on: boolean): void {
    this.train.checked = on;
    this.syncTrain();
  }

  private syncTrain(): void {
    this.train.disabled = this.truthValue === null;
    this.element.dataset.training = String(this.training);
  }

  /** The probe's answer beside zero-shot's (null: no probe to show). */
  setProbe(probe: { labels: string[]; probs: number[]; zeroShot: number[] | null } | "training" | null): void {
    if (probe === null) {
      this.probeLine.hidden = true;
      delete this.element.dataset.probeProbs;
      return;
    }
    this.probeLine.hidden = false;
    if (probe === "training") {
      delete this.element.dataset.probeProbs;
      this.probeLine.replaceChildren(h("span", { class: "muted" }, `probe: training example (${this.truthValue ?? ""})`));
      return;
    }
    this.element.dataset.probeProbs = JSON.stringify(probe.probs);
    this.element.dataset.probeLabels = JSON.stringify(probe.labels);
    const top = (probs: number[]) => {
      const i = bestIndex(probs);
      return `${probe.labels[i] ?? ""} ${percent(probs[i] ?? 0)}`;
    };
    this.probeLine.replaceChildren(h("span", { class: "probe-answer" }, h("strong", {}, "probe: "), top(probe.probs)));
    if (probe.zeroShot) this.probeLine.append(h("span", { class: "muted" }, ` · zero-shot: ${top(probe.zeroShot)}`));
  }

  /** A preset's top classes from its precomputed classifier (ImageNet's top 5). */
  setTop(title: string, entries: { label: string; prob: number }[] | null): void {
    if (!entries) {
      this.top.hidden = true;
      return;
    }
    this.top.hidden = false;
    this.top.replaceChildren(
      h("h4", {}, title),
      h("ol", {}, ...entries.map((e) => h("li", { "data-label": e.label, "data-prob": String(e.prob) }, h("span", {}, e.label), h("span", { class: "p" }, percent(e.prob))))),
    );
  }

  setStatus(status: CardStatus, message = ""): void {
    this.element.dataset.status = status;
    this.statusLine.textContent = message;
    this.statusLine.hidden = message === "";
    this.statusLine.classList.toggle("error", status === "error");
    this.compareButton.hidden = status === "error";
    this.similarButton.hidden = status === "error";
    if (status === "error") {
      this.bars.clear();
      this.heatmap.clear();
      this.setTop("", null);
    }
  }

  /** Scores from a newer request are on their way; keep the old bars, dimmed. */
  setStale(stale: boolean): void {
    this.element.classList.toggle("stale", stale);
    if (stale) this.element.dataset.stale = "true";
    else delete this.element.dataset.stale;
  }

  setEmbedded(ms: number, backend: string): void {
    this.imageMeta.textContent = `image embedded in ${milliseconds(ms)} on ${backend === "webgpu" ? "WebGPU" : "CPU"}`;
  }

  setScores(
    labels: string[],
    templates: string[],
    probs: number[],
    cosine: number[],
    batch: { ms: number; encoded: number; prompts: number },
    logitScale?: number,
    perTemplate?: number[][],
  ): void {
    this.bars.update(labels, probs, cosine, logitScale);
    if (perTemplate) this.heatmap.update(labels, templates, perTemplate, probs);
    else this.heatmap.clear();
    // What these bars answer, for tests and for anyone inspecting the page.
    this.element.dataset.labels = JSON.stringify(labels);
    this.element.dataset.templates = JSON.stringify(templates);
    this.element.dataset.scale = String(logitScale ?? "");
    this.textMeta.textContent = ` · text batch ${milliseconds(batch.ms)}: ${batch.encoded} of ${batch.prompts} prompt${batch.prompts === 1 ? "" : "s"} newly encoded`;
  }

  /** Place in a search's ranking (0 = best) and its cosine; null clears it. */
  setRank(rank: number | null, cosine = 0): void {
    if (rank === null) {
      this.element.style.removeProperty("order");
      delete this.element.dataset.searchRank;
      delete this.element.dataset.searchCosine;
      this.rankBadge.hidden = true;
      return;
    }
    this.element.style.order = String(rank);
    this.element.dataset.searchRank = String(rank);
    this.element.dataset.searchCosine = String(cosine);
    this.rankBadge.hidden = false;
    this.rankBadge.textContent = `#${rank + 1} · cos ${cosine.toFixed(3)}`;
  }

  setComparing(on: boolean): void {
    this.element.classList.toggle("comparing", on);
  }
}
