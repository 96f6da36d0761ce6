// Lesson: what ensembling buys. Zero-shot accuracy on the labelled cards as templates are added
// one at a time: in the listed order, and by greedy forward selection (each step adds the
// template that helps most, as the CLIP notebook chose its 7 of the 80). Rust computes both
// curves (crate/src/curves.rs, checked against numpy); this module plots them.

import { type App, Channel, messageOf } from "../app";
import type { Gallery } from "../gallery";
import { labelledSetButton } from "../inputs";
import type { TemplateCurveResult } from "../protocol";
import { download, h, milliseconds, percent, sentence } from "../ui/dom";
import { legend, plot, plotDownloads } from "../ui/plot";
import type { LessonPath } from "./path";

export function mountEnsemble(app: App, path: LessonPath, gallery: Gallery): void {
  const listed = new Channel(app, "ensemble-listed");
  const greedy = new Channel(app, "ensemble-greedy");
  const source = h(
    "select",
    { id: "ensemble-source", "data-testid": "ensemble-source" },
    h("option", { value: "yours" }, "your templates"),
    h("option", { value: "imagenet" }, "the paper's 80 ImageNet templates"),
  );
  const go = h("button", { type: "button", class: "button", "data-testid": "ensemble-run" }, "Draw the curve");
  const result = h("div", { class: "curve-result", "data-testid": "ensemble-result" }, h("p", { class: "muted" }, "Load the labelled example set, then draw the curve."));

  const show = (text: string) => {
    result.replaceChildren(h("p", { class: "muted" }, text));
    delete result.dataset.listed;
    delete result.dataset.greedy;
  };

  const templates = (): string[] => {
    if (source.value === "yours") return app.templateValues();
    return app.presets.find((p) => p.name === "imagenet")?.templates ?? [];
  };

  const run = async () => {
    if (!app.ready) return;
    const labelled = app.labelled().map((l) => l.image);
    const list = templates();
    if (list.length === 0) return show("There are no templates to add: write some in the templates editor, or pick the paper's 80.");
    const params = { labelled, labels: app.labelValues(), templates: list };
    result.classList.add("stale");
    let answers: [TemplateCurveResult | null, TemplateCurveResult | null];
    try {
      answers = await Promise.all([listed.ask("templateCurve", { ...params, greedy: false }), greedy.ask("templateCurve", { ...params, greedy: true })]);
    } catch (error) {
      result.classList.remove("stale");
      return show(sentence(messageOf(error)));
    }
    const [inOrder, selected] = answers;
    if (!inOrder || !selected) return;
    result.classList.remove("stale");
    draw(inOrder, selected, labelled.length);
  };

  const draw = (inOrder: TemplateCurveResult, selected: TemplateCurveResult, images: number) => {
    const count = inOrder.steps.length;
    const ticks = count <= 10 ? inOrder.steps.map((_, i) => i + 1) : [1, ...[0.25, 0.5, 0.75, 1].map((f) => Math.max(2, Math.round(f * count)))];
    const best = selected.steps.reduce((b, s, i) => (s.accuracy > (selected.steps[b]?.accuracy ?? -1) ? i : b), 0);
    const svg = plot({
      title: "Zero-shot accuracy as templates are added",
      xLabel: "templates in the ensemble",
      yLabel: "zero-shot accuracy",
      xTicks: [...new Set(ticks)],
      series: [
        { name: "in the listed order", tone: "s-zero", points: inOrder.steps.map((s, i) => ({ x: i + 1, y: s.accuracy })) },
        { name: "greedy forward selection", tone: "s-probe", points: selected.steps.map((s, i) => ({ x: i + 1, y: s.accuracy })) },
      ],
      mark: { x: best + 1, y: selected.steps[best]!.accuracy, text: `best: ${best + 1} template${best === 0 ? "" : "s"}` },
    });
    result.dataset.listed = JSON.stringify(inOrder.steps);
    result.dataset.images = JSON.stringify(app.namesOf(inOrder.imageIds));
    result.dataset.greedy = JSON.stringify(selected.steps);
    const picks = selected.steps[best]!.templates;
    const entries = [
      { name: "templates added in the listed order", tone: "s-zero" },
      { name: "greedy: each step adds the template that helps most", tone: "s-probe" },
    ];
    result.replaceChildren(
      svg,
      legend(entries),
      plotDownloads(svg, entries, "clip-template-curve", download),
      h(
        "p",
        { "data-testid": "ensemble-verdict" },
        `One template: ${percent(inOrder.steps[0]!.accuracy)}; all ${count}: ${percent(inOrder.steps[count - 1]!.accuracy)}. ` +
          `Greedy selection peaks at ${percent(selected.steps[best]!.accuracy)} with ${best + 1}: `,
      ),
      h("ol", { class: "ensemble-picks", "data-testid": "ensemble-picks" }, ...picks.map((t) => h("li", {}, t))),
      h("p", { class: "muted small" }, `${images} labelled images, ${count} templates, both curves in ${milliseconds(Math.max(inOrder.ms, selected.ms))}. Greedy picks are chosen on these same images, so they flatter them a little: the notebook chose its 7 on ImageNet's training set.`),
    );
  };

  go.addEventListener("click", () => void run());
  source.addEventListener("change", () => {
    if (result.dataset.listed) void run();
  });
  app.on("scored", () => {
    if (result.dataset.listed && source.value === "yours") void run();
  });

  path.add({
    key: "ensemble",
    title: "What ensembling buys: the template curve",
    tryThis: "load the labelled example set, pick the paper's 80 ImageNet templates and draw the curve.",
    notice:
      "a few well-chosen templates give most of the gain, and more is not always better; the CLIP notebook found its 7 templates this way, by forward selection.",
    body: [h("p", { class: "probe-controls" }, labelledSetButton(app, gallery), " ", h("label", {}, "Add ", source), " ", go), result],
  });
}
