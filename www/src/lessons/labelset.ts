// Lesson: the label set is part of the classifier. The wording lesson's image with the labels,
// and with one more: the same vector, a different answer.

import type { App } from "../app";
import { CrashError, SupersededError } from "../client";
import type { ClassifyResult } from "../protocol";
import { BarList } from "../ui/bars";
import { DEBOUNCE_MS } from "../app";
import { bestIndex, h, percent } from "../ui/dom";
import type { LessonPath } from "./path";

export function mountLabelSet(app: App, path: LessonPath): void {
  const bars = { before: new BarList("bars compact"), after: new BarList("bars compact") };
  const extra = h("input", { id: "extra-label", "data-keep": "", "data-testid": "extra-label", type: "text", value: "tabby cat", spellcheck: "false", autocomplete: "off" });
  const verdict = h("p", { id: "labelset-verdict", class: "compare-verdict", "data-testid": "labelset-verdict" });
  let generation = 0;
  let debounce: ReturnType<typeof setTimeout> | undefined;

  const clear = () => {
    bars.before.clear();
    bars.after.clear();
    verdict.textContent = "";
  };

  const classify = async () => {
    const item = app.subject;
    const added = extra.value.trim();
    const labels = app.labelValues();
    if (!app.ready || !item || !item.embedded) return;
    const asked = ++generation;
    const templates = app.templateValues();
    const ask = (channel: string, labelSet: string[]) =>
      app.call("classify", { channel, generation: asked, imageIds: [item.id], labels: labelSet, templates, ...app.scaleParam() });
    let before: ClassifyResult;
    let after: ClassifyResult;
    try {
      [before, after] = await Promise.all([ask("labelset-before", labels), ask("labelset-after", added ? [...labels, added] : labels)]);
    } catch (error) {
      if (error instanceof SupersededError || error instanceof CrashError || asked !== generation) return;
      clear();
      return;
    }
    if (asked !== generation || app.subject !== item) return;
    const b = before.scores[item.id];
    const a = after.scores[item.id];
    if (!b || !a) return;
    bars.before.update(before.labels, b.probs, b.cosine, app.tau);
    bars.after.update(after.labels, a.probs, a.cosine, app.tau);
    const tb = bestIndex(b.probs);
    const ta = bestIndex(a.probs);
    const was = before.labels[tb] ?? "";
    const now = after.labels[ta] ?? "";
    verdict.dataset.changed = String(ta !== tb);
    verdict.textContent = !added
      ? "Type a label to add."
      : ta !== tb
        ? `Adding “${added}” changed the answer from “${was}” (${percent(b.probs[tb] ?? 0)}) to “${now}” (${percent(a.probs[ta] ?? 0)}). The image and its vector did not change, only the labels offered.`
        : `With “${added}” added, the answer stays “${was}”, but its probability goes from ${percent(b.probs[tb] ?? 0)} to ${percent(a.probs[ta] ?? 0)}: the softmax shares probability among whatever labels are offered, so a probability says nothing about labels that were not.`;
  };

  extra.addEventListener("input", () => {
    clearTimeout(debounce);
    debounce = setTimeout(() => void classify(), DEBOUNCE_MS);
  });
  app.on("subject", (item) => (item ? void classify() : clear()));
  app.on("text", () => void classify());
  app.on("embedded", (item) => {
    if (item === app.subject) void classify();
  });

  path.add({
    key: "labelset",
    title: "The label set is part of the classifier",
    tryThis: "type a label to add, e.g. a closer kind of the image's subject, and compare the two columns.",
    notice: "the image and its vector did not change, only the labels offered: probabilities are relative to the labels, so a probability says nothing about labels that were not offered.",
    body: [
      h("label", { class: "labelset-line" }, "Add the label ", extra),
      h(
        "div",
        { class: "compare-cols" },
        h("div", {}, h("h3", {}, "Your labels"), h("div", { id: "labelset-before" }, bars.before.element)),
        h("div", {}, h("h3", {}, "Your labels + one"), h("div", { id: "labelset-after" }, bars.after.element)),
      ),
      verdict,
      h(
        "p",
        { class: "hint" },
        "The CLIP paper saw this in its bias probes: which classes are offered (adding a “child” class, for one) changed how often photos of people landed in crime-related or non-human classes. Class design is part of the model.",
      ),
    ],
  });
}
