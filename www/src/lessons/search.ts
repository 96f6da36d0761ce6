// Lesson: one model ranks images for a text too. A text (as typed) or one of the images ranks the
// gallery by cosine: the same embeddings, read the other way round (text → images).

import { type App, DEBOUNCE_MS, type Item, messageOf } from "../app";
import { CrashError, SupersededError } from "../client";
import { h, milliseconds, sentence } from "../ui/dom";
import type { LessonPath } from "./path";

const IDLE = "The text tower ranks images too: type a description, or use “find similar” on an image.";
/** How many of the best matches the lesson shows beside its box (the gallery shows them all, in order). */
const SHOWN = 6;

export function mountSearch(app: App, path: LessonPath): void {
  const input = h("input", {
    id: "search-input",
    "data-keep": "",
    "data-testid": "search-input",
    type: "search",
    placeholder: "any text, e.g. a red rocket at night",
    spellcheck: "false",
    autocomplete: "off",
  });
  const clearButton = h("button", { id: "search-clear", type: "button", class: "link", hidden: "" }, "show all in order");
  const status = h("p", { id: "search-status", class: "muted small", "data-testid": "search-status" }, IDLE);
  const best = h("ol", { class: "search-best", "aria-label": "best matches" });
  let query: { text: string } | { imageId: string; name: string } | null = null;
  let generation = 0;
  let debounce: ReturnType<typeof setTimeout> | undefined;

  const run = async () => {
    const asked = ++generation;
    if (query === null) {
      for (const item of app.items) item.card.setRank(null);
      clearButton.hidden = true;
      status.textContent = IDLE;
      delete status.dataset.query;
      best.replaceChildren();
      return;
    }
    const ready = app.items.filter((i) => i.embedded && !i.failed);
    if (!app.ready || ready.length === 0) return;
    const q = query;
    let result;
    try {
      result = await app.call("search", {
        channel: "search",
        generation: asked,
        imageIds: ready.map((i) => i.id),
        query: "text" in q ? { text: q.text } : { imageId: q.imageId },
      });
    } catch (error) {
      if (error instanceof SupersededError || error instanceof CrashError || asked !== generation) return;
      status.textContent = sentence(messageOf(error));
      return;
    }
    if (asked !== generation) return;
    const ranked = result.ranked.flatMap((r) => {
      const item = app.items.find((i) => i.id === r.imageId);
      return item ? [{ item, cosine: r.cosine }] : [];
    });
    ranked.forEach((r, rank) => r.item.card.setRank(rank, r.cosine));
    best.replaceChildren(...ranked.slice(0, SHOWN).map((r) => thumbnail(r.item, r.cosine)));
    clearButton.hidden = false;
    const what = "text" in q ? `“${q.text}”` : `${q.name}`;
    status.dataset.query = "text" in q ? q.text : `image:${q.name}`;
    status.textContent = `${ready.length} image${ready.length === 1 ? "" : "s"} ranked by cosine to ${what} in ${milliseconds(result.ms)}, most similar first.`;
  };

  input.addEventListener("input", () => {
    clearTimeout(debounce);
    const text = input.value.trim();
    query = text ? { text } : null;
    debounce = setTimeout(() => void run(), DEBOUNCE_MS);
  });
  clearButton.addEventListener("click", () => {
    input.value = "";
    query = null;
    void run();
  });
  app.on("similar", (item) => {
    if (!item.embedded) return;
    input.value = "";
    query = { imageId: item.id, name: item.name };
    void run();
  });
  app.on("embedded", () => {
    if (query !== null) void run();
  });

  path.add({
    key: "search",
    title: "One model ranks images for a text too",
    tryThis: "describe something in the gallery in your own words, or press “find similar” on a card.",
    notice: "this is the same cosine as zero-shot, read the other way: one text against every image instead of one image against every label. The gallery reorders itself, best match first.",
    body: [
      h("div", { class: "search", role: "search" }, h("label", { class: "search-line" }, "Search the gallery ", input), clearButton, status),
      best,
    ],
  });
}

function thumbnail(item: Item, cosine: number): HTMLLIElement {
  return h("li", {}, h("img", { src: item.url, alt: item.name, loading: "lazy" }), h("span", { class: "small" }, `cos ${cosine.toFixed(3)}`));
}
