// Lesson: how CLIP was trained. The gallery becomes one training batch: each image paired with
// its caption (typed on the card, or its true label's prompt), the N×N matrix of cosines, its
// row and column softmaxes at the page's τ, and the symmetric cross-entropy CLIP minimised.
// Hard negatives add captions with no image of their own. Every number is Rust's
// (crate/src/contrast.rs, checked against transformers' CLIPModel(return_loss=True)).

import { type App, Channel, defaultCaption, type Item, messageOf } from "../app";
import type { ContrastResult } from "../protocol";
import { h, milliseconds, sentence } from "../ui/dom";
import type { Gallery } from "../gallery";
import { labelledSetButton } from "../inputs";
import type { LessonPath } from "./path";

type View = "cosine" | "image_to_text" | "text_to_image";

const VIEWS: { value: View; text: string }[] = [
  { value: "cosine", text: "cosine similarity" },
  { value: "image_to_text", text: "each image picks a caption (row softmax)" },
  { value: "text_to_image", text: "each caption picks an image (column softmax)" },
];

export function mountContrast(app: App, path: LessonPath, gallery: Gallery): void {
  const channel = new Channel(app, "contrast");
  const view = h("select", { id: "contrast-view", "data-keep": "", "data-testid": "contrast-view" }, ...VIEWS.map((v) => h("option", { value: v.value }, v.text)));
  const negativeButton = h("button", { type: "button", class: "button secondary", "data-testid": "contrast-negative" }, "Add a hard negative");
  const clearNegatives = h("button", { type: "button", class: "link", hidden: "" }, "remove the negatives");
  const result = h("div", { class: "contrast-result", "data-testid": "contrast-result" }, h("p", { class: "muted" }, "Waiting for images."));
  const negatives: string[] = [];
  let last: { batch: ContrastResult; items: Item[]; left: number } | null = null;

  const captionOf = (item: Item) => item.card.caption || defaultCaption(item.card.trueLabel, app.templateValues());

  const show = (text: string) => {
    last = null;
    result.replaceChildren(h("p", { class: "muted" }, text));
    delete result.dataset.loss;
  };

  const run = async () => {
    const templates = app.templateValues();
    for (const item of app.items) item.card.setDefaultCaption(defaultCaption(item.card.trueLabel, templates) || "give a true label or type a caption");
    if (!app.ready) return;
    const usable = app.items.filter((i) => i.embedded && !i.failed);
    const batch = usable.filter((i) => captionOf(i) !== "");
    const left = usable.length - batch.length;
    if (batch.length < 2) {
      channel.cancel();
      show(
        `A training batch needs at least two images with a caption; ${batch.length === 1 ? "one has" : "none has"} one. ` +
          "Load the labelled example set, or type a caption on two cards.",
      );
      return;
    }
    let answer: ContrastResult | null;
    result.classList.add("stale");
    try {
      answer = await channel.ask("contrast", { imageIds: batch.map((i) => i.id), captions: batch.map(captionOf), negatives: [...negatives], ...app.scaleParam() });
    } catch (error) {
      result.classList.remove("stale");
      show(sentence(messageOf(error)));
      return;
    }
    if (!answer) return;
    result.classList.remove("stale");
    const items = answer.imageIds.map((id) => batch.find((i) => i.id === id)!);
    last = { batch: answer, items, left };
    draw();
  };

  const draw = () => {
    if (!last) return;
    const { batch, items, left } = last;
    const matrix = batch[view.value as View];
    const n = items.length;
    const header = h(
      "tr",
      {},
      h("th", { scope: "col", class: "corner" }, "image ↓ · caption →"),
      ...batch.captions.map((caption, j) =>
        h("th", { scope: "col", class: j >= n ? "negative" : batch.wrong_captions.includes(j) ? "wrong" : undefined, title: caption }, h("span", { class: "template-text" }, j >= n ? `✗ ${caption}` : caption)),
      ),
    );
    const rows = items.map((item, i) =>
      h(
        "tr",
        { class: batch.wrong_images.includes(i) ? "wrong" : undefined },
        h("th", { scope: "row", class: "contrast-image" }, h("img", { src: item.url, alt: "" }), h("span", {}, item.name)),
        ...(matrix[i] ?? []).map((value, j) => {
          const shown = view.value === "cosine" ? value.toFixed(3) : `${(value * 100).toFixed(1)}%`;
          const cell = h("td", { class: `${i === j ? "diag" : ""} ${j >= n ? "negative" : ""}`.trim(), "data-value": String(value) }, view.value === "text_to_image" && j >= n ? "—" : shown);
          // Shade by where the value sits in its matrix (cosines are small; probabilities 0..1).
          const [lo, hi] = view.value === "cosine" ? range(batch.cosine) : [0, 1];
          cell.style.setProperty("--p", String(hi > lo ? (value - lo) / (hi - lo) : 0));
          return cell;
        }),
      ),
    );
    // Named when few; counted when many (a 30-image batch of random weights is mostly wrong).
    const named = (list: string[], what: string) =>
      list.length === 0 ? [] : list.length <= 4 ? list.map((name) => `${name} ${what}`) : [`${list.length} ${what.replace("picks", "pick")} (${list.slice(0, 3).join(", ")}, …)`];
    const wrong = [
      ...named(batch.wrong_images.map((i) => items[i]?.name ?? ""), "picks another caption than its own"),
      ...named(batch.wrong_captions.map((j) => `“${batch.captions[j]}”`), "picks another image than its own"),
    ];
    result.dataset.loss = String(batch.loss);
    result.dataset.lossImages = String(batch.loss_images);
    result.dataset.lossTexts = String(batch.loss_texts);
    result.dataset.captions = JSON.stringify(batch.captions);
    result.dataset.images = JSON.stringify(items.map((i) => i.name));
    result.dataset.cosine = JSON.stringify(batch.cosine);
    result.replaceChildren(
      h("div", { class: "heatmap-scroll" }, h("table", { class: "contrast-matrix", "data-testid": "contrast-matrix" }, h("thead", {}, header), h("tbody", {}, ...rows))),
      h(
        "p",
        { class: "contrast-loss", "data-testid": "contrast-loss" },
        `Image → text loss ${batch.loss_images.toFixed(3)}, text → image loss ${batch.loss_texts.toFixed(3)}; `,
        h("strong", {}, `CLIP's training loss: their mean, ${batch.loss.toFixed(3)}`),
        ` (τ = ${batch.scale.toFixed(1)}, ${n} pairs${batch.captions.length > n ? ` and ${batch.captions.length - n} hard negative${batch.captions.length - n === 1 ? "" : "s"}` : ""}, ${milliseconds(batch.ms)}).`,
      ),
      h("p", { class: wrong.length ? "contrast-wrong" : "muted" }, wrong.length ? `Matched wrongly: ${wrong.join("; ")}.` : "Every image picks its own caption and every caption its own image."),
      left > 0 ? h("p", { class: "muted small" }, `${left} image${left === 1 ? " is" : "s are"} left out: give ${left === 1 ? "it" : "them"} a true label or a caption.`) : "",
    );
  };

  negativeButton.addEventListener("click", () => {
    // A near-duplicate of the first pair's caption, about another label: what the batch must
    // learn to tell apart from the right one.
    const first = last?.items[0];
    const labels = app.labelValues();
    if (!first) {
      app.error("contrast", "Add at least two images with captions before adding a hard negative");
      return;
    }
    const own = captionOf(first);
    const truth = first.card.trueLabel;
    const other = labels.find((l) => l !== truth && !negatives.includes(defaultCaption(l, app.templateValues())));
    const negative = truth && other && !first.card.caption ? defaultCaption(other, app.templateValues()) : `${own.replace(/[.!]$/, "")} (another one).`;
    if (negatives.includes(negative) || negatives.length >= 8) {
      app.error("contrast", "That hard negative is already in the batch");
      return;
    }
    app.error("contrast", null);
    negatives.push(negative);
    clearNegatives.hidden = false;
    void run();
  });
  clearNegatives.addEventListener("click", () => {
    negatives.length = 0;
    clearNegatives.hidden = true;
    void run();
  });
  view.addEventListener("change", draw);
  app.on("scored", () => void run());
  app.on("caption", () => void run());
  app.on("truth", () => void run());
  app.on("removed", () => void run());

  path.add({
    key: "contrast",
    title: "How CLIP was trained: one batch, one matrix",
    tryThis: "load the labelled example set, or type captions on the cards; switch the view; press “Add a hard negative” and watch the loss rise.",
    notice: [
      "training pulls each image toward its own caption (the diagonal) and away from every other caption in the batch; the loss is the mean of the two cross-entropies. ",
      h("strong", {}, "Zero-shot classification is one row of this matrix"),
      ", with captions made from labels. Five cats captioned alike cannot be told apart: web captions rarely repeat, so real batches seldom have that problem.",
    ],
    body: [h("p", { class: "contrast-controls" }, labelledSetButton(app, gallery), " ", h("label", {}, "Show ", view), " ", negativeButton, " ", clearNegatives), result],
  });
}

function range(matrix: number[][]): [number, number] {
  const values = matrix.flat();
  return [Math.min(...values), Math.max(...values)];
}
