// Lesson: does prompt engineering pay? Top-1 accuracy of two template sets over the images that
// have a true label: the CLIP paper's ensembling experiment in miniature.

import { type App, type Item, messageOf } from "../app";
import { CrashError, SupersededError } from "../client";
import type { Gallery } from "../gallery";
import { loadLabelledSet } from "../inputs";
import type { ClassifyResult, PageState } from "../protocol";
import { bestIndex, h, percent, sentence } from "../ui/dom";
import type { LessonPath } from "./path";

interface TemplateSet {
  name: string;
  templates: () => string[];
}

export function mountAB(app: App, path: LessonPath, gallery: Gallery): void {
  const preset = (name: string) => app.presets.find((p) => p.name === name)?.templates ?? [];
  const sets: Record<string, TemplateSet> = {
    bare: { name: "bare label {}", templates: () => ["{}"] },
    photo: { name: "a photo of a {}.", templates: () => ["a photo of a {}."] },
    drawing: { name: "a drawing of a {}.", templates: () => ["a drawing of a {}."] },
    yours: { name: "your templates", templates: () => app.templateValues() },
    imagenet: { name: "the paper's 80 ImageNet templates", templates: () => preset("imagenet") },
    "imagenet-7": { name: "the 7 forward-selected templates", templates: () => preset("imagenet-7") },
  };
  const choice = (id: string) =>
    h("select", { id, "data-testid": id }, ...Object.entries(sets).map(([key, set]) => h("option", { value: key }, set.name)));
  const a = choice("ab-a");
  const b = choice("ab-b");
  a.value = "bare";
  b.value = "imagenet";
  const result = h("div", { id: "ab-result", class: "ab-result", "data-testid": "ab-result" }, h("p", { class: "muted" }, "No image has a true label yet."));
  const loadButton = h("button", { id: "ab-load", type: "button", class: "button secondary", "data-testid": "ab-load" }, "Load the labelled example set");
  loadButton.addEventListener("click", () => void loadLabelledSet(app, gallery));
  let generation = 0;

  const run = async () => {
    const labels = app.labelValues();
    const labelled = app.items.filter((i) => i.embedded && !i.failed && i.card.trueLabel !== null && labels.includes(i.card.trueLabel));
    const unlisted = app.items.filter((i) => i.card.trueLabel !== null && !labels.includes(i.card.trueLabel)).length;
    if (!app.ready) return;
    if (labelled.length === 0) {
      result.replaceChildren(
        h(
          "p",
          { class: "muted" },
          unlisted ? `${unlisted} image${unlisted === 1 ? " has a true label that is" : "s have true labels that are"} not among the labels.` : "No image has a true label yet.",
        ),
      );
      delete result.dataset.accuracyA;
      delete result.dataset.accuracyB;
      return;
    }
    const chosen = { a: sets[a.value]!, b: sets[b.value]! };
    const asked = ++generation;
    const ask = (channel: string, set: TemplateSet) =>
      app.call("classify", { channel, generation: asked, imageIds: labelled.map((i) => i.id), labels, templates: set.templates(), ...app.scaleParam() });
    let resultA: ClassifyResult;
    let resultB: ClassifyResult;
    result.classList.add("stale");
    try {
      [resultA, resultB] = await Promise.all([ask("ab-a", chosen.a), ask("ab-b", chosen.b)]);
    } catch (error) {
      if (asked === generation && !(error instanceof SupersededError) && !(error instanceof CrashError)) {
        result.replaceChildren(h("p", { class: "error" }, sentence(messageOf(error))));
        result.classList.remove("stale");
      }
      return;
    }
    if (asked !== generation) return;
    result.classList.remove("stale");
    // Which label each set picks for each image (the most probable one, as Rust scored them).
    const pick = (answer: ClassifyResult, item: Item) => answer.labels[bestIndex(answer.scores[item.id]?.probs ?? [])] ?? "";
    const rows = labelled.map((item) => ({ item, a: pick(resultA, item), b: pick(resultB, item), truth: item.card.trueLabel! }));
    const right = (key: "a" | "b") => rows.filter((r) => r[key] === r.truth).length;
    const [ra, rb] = [right("a"), right("b")];
    const fixed = rows.filter((r) => r.a !== r.truth && r.b === r.truth);
    const broken = rows.filter((r) => r.a === r.truth && r.b !== r.truth);
    const n = rows.length;
    result.dataset.accuracyA = String(ra / n);
    result.dataset.accuracyB = String(rb / n);
    result.dataset.picks = JSON.stringify(Object.fromEntries(rows.map((r) => [r.item.name, [r.a, r.b]])));
    const line = (key: string, set: TemplateSet, k: number) => {
      const bar = h("span", { class: "ab-bar" });
      bar.style.setProperty("--p", String(k / n));
      return h("div", { class: "ab-line", "data-testid": `ab-${key.toLowerCase()}-line` }, h("strong", {}, `${key} · ${set.name}`), ` ${k} of ${n} right (${percent(k / n)})`, bar);
    };
    const names = (list: typeof rows) => list.map((r) => `${r.item.name} (${r.truth})`).join(", ");
    result.replaceChildren(
      line("A", chosen.a, ra),
      line("B", chosen.b, rb),
      h(
        "p",
        { class: "ab-flips" },
        fixed.length || broken.length
          ? `B fixes ${fixed.length} image${fixed.length === 1 ? "" : "s"}${fixed.length ? `: ${names(fixed)}` : ""}; B breaks ${broken.length}${broken.length ? `: ${names(broken)}` : ""}.`
          : "No image changes its answer between A and B.",
      ),
    );
  };

  for (const select of [a, b]) {
    select.addEventListener("change", () => {
      void run();
      app.settingsChanged();
    });
  }
  app.on("text", () => void run());
  app.on("truth", () => void run());
  app.on("embedded", (item) => {
    if (item.card.trueLabel !== null) void run();
  });
  app.share({
    save(state: PageState) {
      state.ab = [a.value, b.value];
    },
    restore(state: PageState) {
      if (!state.ab) return;
      const unknown = state.ab.filter((key) => !(key in sets));
      if (unknown.length) app.error("link", `The link names an A/B set this page does not have (${unknown.join(", ")}), so the A/B test keeps its defaults`);
      else [a.value, b.value] = state.ab;
    },
  });

  path.add({
    key: "ab",
    title: "Does prompt engineering pay? An A/B test on labelled images",
    tryThis: "load the labelled example set (or give your own cards a true label), then pick two template sets.",
    notice:
      "the score is top-1 accuracy over your labels; which images B fixes and which it breaks tell more than the totals. The paper's ensembles usually win, but not on every image.",
    body: [
      h("p", {}, loadButton),
      h("div", { class: "ab-sets" }, h("label", {}, "A ", a), h("label", {}, "B ", b)),
      result,
    ],
  });
}
