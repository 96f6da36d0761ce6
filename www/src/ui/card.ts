// One gallery card: the image, its status, its bars, and how long each step took.

import { BarList } from "./bars";
import { h, milliseconds } from "./dom";

export type CardStatus = "working" | "ready" | "error";

export interface CardHandlers {
  onRemove: () => void;
  onCompare: () => void;
}

export class Card {
  readonly element: HTMLElement;
  readonly bars = new BarList();
  private readonly statusLine: HTMLParagraphElement;
  private readonly imageMeta: HTMLSpanElement;
  private readonly textMeta: HTMLSpanElement;
  private readonly compareButton: HTMLButtonElement;

  constructor(name: string, url: string, example: boolean, handlers: CardHandlers) {
    const img = h("img", { src: url, alt: name, loading: "lazy", decoding: "async" });
    img.addEventListener("error", () => img.classList.add("broken"), { once: true });
    this.statusLine = h("p", { class: "card-status", role: "status" });
    this.imageMeta = h("span", { class: "meta-image" });
    this.textMeta = h("span", { class: "meta-text" });
    this.compareButton = h("button", { type: "button", class: "link", title: "Show this image in the “Wording matters” panel" }, "compare wording");
    this.compareButton.addEventListener("click", handlers.onCompare);
    const remove = h("button", { type: "button", class: "remove", "aria-label": `remove ${name}`, title: "Remove" }, "×");
    remove.addEventListener("click", handlers.onRemove);
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
          h("header", { class: "card-head" }, h("span", { class: "card-name", title: name }, name), example ? h("span", { class: "tag" }, "example") : null, remove),
          this.statusLine,
          h("p", { class: "card-meta" }, this.imageMeta, this.textMeta, " ", this.compareButton),
        ),
      ),
      this.bars.element,
    );
  }

  setStatus(status: CardStatus, message = ""): void {
    this.element.dataset.status = status;
    this.statusLine.textContent = message;
    this.statusLine.hidden = message === "";
    this.statusLine.classList.toggle("error", status === "error");
    this.compareButton.hidden = status === "error";
    if (status === "error") this.bars.clear();
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
  ): void {
    this.bars.update(labels, probs, cosine, logitScale);
    // What these bars answer, for tests and for anyone inspecting the page.
    this.element.dataset.labels = JSON.stringify(labels);
    this.element.dataset.templates = JSON.stringify(templates);
    this.textMeta.textContent = ` · text batch ${milliseconds(batch.ms)}: ${batch.encoded} of ${batch.prompts} prompt${batch.prompts === 1 ? "" : "s"} newly encoded`;
  }

  setComparing(on: boolean): void {
    this.element.classList.toggle("comparing", on);
  }
}
