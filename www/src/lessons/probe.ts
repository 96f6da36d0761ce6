// Lesson: zero-shot against a few-shot linear probe. A logistic regression (Rust's, checked
// against scikit-learn) is fitted on the training cards' image embeddings and answers for every
// other card beside zero-shot, with the held-out accuracy of both.

import { type App, type Item, messageOf } from "../app";
import { CrashError, SupersededError } from "../client";
import type { PageState } from "../protocol";
import { bestIndex, h, milliseconds, percent, sentence } from "../ui/dom";
import type { LessonPath } from "./path";

export function mountProbe(app: App, path: LessonPath): void {
  const k = h("select", { id: "probe-k", "data-keep": "", "data-testid": "probe-k" }, ...["1", "2", "4", "8"].map((n) => h("option", { selected: n === "4" ? "" : undefined }, n)));
  const pick = h("button", { id: "probe-pick", type: "button", class: "button secondary", "data-testid": "probe-pick" }, "mark them");
  const untick = h("button", { id: "probe-clear", type: "button", class: "link" }, "untick all");
  const c = h("input", { id: "probe-c", "data-testid": "probe-c", type: "number", value: "1", min: "0", step: "any", inputmode: "decimal" });
  const result = h("div", { id: "probe-result", class: "ab-result", "data-testid": "probe-result" }, h("p", { class: "muted" }, "No training images yet."));
  let generation = 0;

  const message = (text: string) => {
    result.replaceChildren(h("p", { class: "muted" }, text));
    delete result.dataset.accuracyProbe;
    delete result.dataset.accuracyZeroShot;
    for (const item of app.items) item.card.setProbe(null);
  };

  /** The zero-shot answer of the gallery for these labels, if it is current. */
  const zeroShotOf = (item: Item, labels: string[]) =>
    item.zeroShot && JSON.stringify(item.zeroShot.labels) === JSON.stringify(labels) ? item.zeroShot.probs : null;

  const run = async () => {
    if (!app.ready) return;
    const labels = app.labelValues();
    const usable = app.items.filter((i) => i.embedded && !i.failed);
    const train = usable.filter((i) => i.card.training && labels.includes(i.card.trueLabel!));
    const test = usable.filter((i) => !train.includes(i));
    const strength = Number(c.value);
    const trainedLabels = new Set(train.map((i) => i.card.trueLabel));
    const asked = ++generation;
    if (trainedLabels.size < 2) {
      message(train.length ? "Mark training images of at least two different labels." : "No training images yet: give some cards a true label and tick “train”.");
      return;
    }
    if (!(strength > 0 && Number.isFinite(strength))) {
      message("C must be a positive number.");
      return;
    }
    let answer;
    result.classList.add("stale");
    try {
      answer = await app.call("probe", {
        channel: "probe",
        generation: asked,
        train: train.map((i) => ({ imageId: i.id, label: i.card.trueLabel! })),
        testIds: test.map((i) => i.id),
        labels,
        c: strength,
      });
    } catch (error) {
      if (asked === generation && !(error instanceof SupersededError) && !(error instanceof CrashError)) {
        message(sentence(messageOf(error)));
        result.classList.remove("stale");
      }
      return;
    }
    if (asked !== generation) return;
    result.classList.remove("stale");
    for (const item of train) item.card.setProbe("training");
    for (const item of test) {
      const probs = answer.probs[item.id];
      item.card.setProbe(probs ? { labels, probs, zeroShot: zeroShotOf(item, labels) } : null);
    }
    // Held out: test images with a true label among the labels.
    const heldOut = test.filter((i) => i.card.trueLabel !== null && labels.includes(i.card.trueLabel) && answer.probs[i.id]);
    const perLabel = labels.map((l) => train.filter((i) => i.card.trueLabel === l).length);
    const summary = h(
      "p",
      {},
      `Trained on ${train.length} image${train.length === 1 ? "" : "s"} (${labels.map((l, i) => `${perLabel[i]} ${l}`).join(", ")}) in ${milliseconds(answer.ms)}, ${answer.iterations} L-BFGS iterations, C = ${strength}.`,
    );
    if (heldOut.length === 0) {
      result.replaceChildren(summary, h("p", { class: "muted" }, "No held-out image has a true label, so there is no accuracy to show."));
      delete result.dataset.accuracyProbe;
      delete result.dataset.accuracyZeroShot;
      return;
    }
    const right = (probsOf: (i: Item) => number[] | null) =>
      heldOut.filter((i) => probsOf(i) !== null && labels[bestIndex(probsOf(i) ?? [])] === i.card.trueLabel).length;
    const probeRight = right((i) => answer.probs[i.id] ?? null);
    const zeroRight = right((i) => zeroShotOf(i, labels));
    const n = heldOut.length;
    result.dataset.accuracyProbe = String(probeRight / n);
    result.dataset.accuracyZeroShot = String(zeroRight / n);
    const line = (name: string, hits: number, testid: string) => {
      const bar = h("span", { class: "ab-bar" });
      bar.style.setProperty("--p", String(hits / n));
      return h("div", { class: "ab-line", "data-testid": testid }, h("strong", {}, name), ` ${hits} of ${n} held-out images right (${percent(hits / n)})`, bar);
    };
    result.replaceChildren(
      summary,
      line(`zero-shot (your templates, no training)`, zeroRight, "probe-zero-shot-line"),
      line(`${Math.min(...perLabel.filter((x) => x > 0))}-shot linear probe`, probeRight, "probe-line-accuracy"),
    );
  };

  c.addEventListener("input", () => void run());
  c.addEventListener("change", () => app.settingsChanged());
  pick.addEventListener("click", () => {
    // The first k labelled images of each label train; every other labelled image is held out.
    const perLabel = Number(k.value);
    const taken = new Map<string, number>();
    for (const item of app.items) {
      const truth = item.card.trueLabel;
      if (truth === null || item.failed) continue;
      const n = taken.get(truth) ?? 0;
      item.card.setTraining(n < perLabel);
      taken.set(truth, n + 1);
    }
    void run();
  });
  untick.addEventListener("click", () => {
    for (const item of app.items) item.card.setTraining(false);
    void run();
  });
  app.on("scored", () => void run());
  app.on("truth", () => void run());
  app.on("training", () => void run());
  app.on("removed", (item) => {
    if (item.card.training) void run();
  });
  app.share({
    save(state: PageState) {
      const value = Number(c.value);
      if (value > 0 && Number.isFinite(value) && value !== 1) state.c = value;
    },
    restore(state: PageState, whole = false) {
      if (state.c !== undefined) c.value = String(state.c);
      else if (whole) c.value = "1";
    },
  });

  path.add({
    key: "probe",
    title: "Zero-shot against a few-shot linear probe",
    tryThis: "load the labelled example set (in the A/B lesson), choose k and press “mark them”, or tick “train” on cards yourself.",
    notice: "the probe learns from k images per label, zero-shot from one sentence per label; the CLIP paper found zero-shot about as good as a 4-shot probe on the same features: text is worth a few examples.",
    body: [
      h(
        "p",
        { class: "probe-controls" },
        h("label", {}, "Train on ", k, " per label"),
        " ",
        pick,
        " ",
        untick,
        " ",
        h("label", { title: "Inverse strength of the L2 penalty, as scikit-learn's LogisticRegression(C=…)" }, "C ", c),
      ),
      result,
    ],
  });
}
