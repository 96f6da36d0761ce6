// Lesson: how many labelled images is a prompt worth? The few-shot probe is fitted on k images
// per label (k = 1, 2, 4, 8, 16, as far as the labelled cards allow), over seeded random draws,
// and its held-out accuracy is plotted against k beside zero-shot's flat line, as the CLIP
// paper's few-shot figure does. Rust draws, fits and scores (crate/src/curves.rs, every draw
// checked against scikit-learn); this module plots.

import { type App, Channel, messageOf } from "../app";
import type { Gallery } from "../gallery";
import { labelledSetButton } from "../inputs";
import type { ShotCurveResult } from "../protocol";
import { download, h, milliseconds, percent, sentence } from "../ui/dom";
import { legend, plot, plotDownloads } from "../ui/plot";
import type { LessonPath } from "./path";

const SHOTS = [1, 2, 4, 8, 16];

export function mountShots(app: App, path: LessonPath, gallery: Gallery): void {
  const channel = new Channel(app, "shots");
  const draws = h("input", { id: "shots-draws", "data-keep": "", "data-testid": "shots-draws", type: "number", value: "10", min: "1", max: "100", step: "1", inputmode: "numeric" });
  const seed = h("input", { id: "shots-seed", "data-keep": "", "data-testid": "shots-seed", type: "number", value: "0", min: "0", step: "1", inputmode: "numeric" });
  const go = h("button", { type: "button", class: "button", "data-testid": "shots-run" }, "Draw the curve");
  const result = h("div", { class: "curve-result", "data-testid": "shots-result" }, h("p", { class: "muted" }, "Load the labelled example set, then draw the curve."));

  const show = (text: string) => {
    result.replaceChildren(h("p", { class: "muted" }, text));
    delete result.dataset.curve;
  };

  const run = async () => {
    if (!app.ready) return;
    const labelled = app.labelled();
    const n = Number(draws.value);
    const s = Number(seed.value);
    if (!(Number.isInteger(n) && n >= 1 && n <= 100)) return show("The number of draws must be a whole number from 1 to 100.");
    if (!(Number.isInteger(s) && s >= 0 && s <= Number.MAX_SAFE_INTEGER)) return show("The seed must be a whole number, 0 or more.");
    result.classList.add("stale");
    let answer: ShotCurveResult | null;
    try {
      answer = await channel.ask("shotCurve", {
        labelled: labelled.map((l) => l.image),
        labels: app.labelValues(),
        templates: app.templateValues(),
        shots: SHOTS,
        draws: n,
        seed: s,
        c: 1,
      });
    } catch (error) {
      result.classList.remove("stale");
      return show(sentence(messageOf(error)));
    }
    if (!answer) return;
    result.classList.remove("stale");
    draw(answer, labelled.length);
  };

  const draw = (curve: ShotCurveResult, images: number) => {
    const ks = curve.curve.map((p) => p.k);
    const overtaken = curve.curve.find((p) => p.k === curve.overtakes_at);
    const svg = plot({
      title: "Held-out accuracy of a k-shot linear probe against zero-shot",
      xLabel: "labelled images per label (k)",
      yLabel: "accuracy on the other images",
      xTicks: ks,
      logX: true,
      series: [
        {
          name: "linear probe (mean of the draws)",
          tone: "s-probe",
          points: curve.curve.map((p) => ({ x: p.k, y: p.mean })),
          band: curve.curve.map((p) => ({ x: p.k, lo: p.min, hi: p.max })),
        },
      ],
      flat: [{ name: "zero-shot", tone: "s-zero", y: curve.zero_shot_accuracy }],
      mark: overtaken ? { x: overtaken.k, y: overtaken.mean, text: `probe ahead from k = ${overtaken.k}` } : undefined,
    });
    // For tests and anyone inspecting: each draw's training images by file name.
    result.dataset.curve = JSON.stringify({ ...curve, curve: curve.curve.map((p) => ({ ...p, draws: p.draws.map((d) => ({ ...d, train: app.namesOf(d.train) })) })) });
    result.dataset.images = JSON.stringify(app.namesOf(curve.imageIds));
    const verdict = overtaken
      ? `The probe first beats zero-shot (${percent(curve.zero_shot_accuracy)}) at ${overtaken.k} image${overtaken.k === 1 ? "" : "s"} per label (${percent(overtaken.mean)}): that is what one sentence per label is worth here.`
      : `Zero-shot (${percent(curve.zero_shot_accuracy)}, no training images) stays at or above the probe for every k tried here.`;
    const entries = [
      { name: "linear probe: mean, and min–max over the draws", tone: "s-probe" },
      { name: "zero-shot with your labels and templates", tone: "s-zero" },
    ];
    result.replaceChildren(
      svg,
      legend(entries),
      plotDownloads(svg, entries, "clip-k-shot-curve", download),
      h("p", { "data-testid": "shots-verdict" }, verdict),
      h(
        "p",
        { class: "muted small" },
        `${images} labelled images; ${curve.curve.length} values of k × ${curve.curve[0]?.draws.length ?? 0} draws in ${milliseconds(curve.ms)}` +
          (curve.skipped.length ? `; k = ${curve.skipped.join(", ")} skipped (a label has too few images to train on that many and test on one).` : "."),
      ),
    );
  };

  go.addEventListener("click", () => void run());
  app.on("scored", () => {
    if (result.dataset.curve) void run(); // a drawn curve follows the labels and templates
  });

  path.add({
    key: "shots",
    title: "How many labelled images is a prompt worth? The k-shot curve",
    tryThis: "load the labelled example set and draw the curve; change the templates or the seed and draw again.",
    notice:
      "each dot is the mean of random training sets of k images per label, the band their spread. The CLIP paper found zero-shot matching a 4-shot probe on ImageNet: a sentence per label is worth a few labelled images.",
    body: [
      h(
        "p",
        { class: "probe-controls" },
        labelledSetButton(app, gallery),
        " ",
        h("label", {}, "draws per k ", draws),
        " ",
        h("label", { title: "The same seed gives the same random training sets (here, in the CLI and in the tests)" }, "seed ", seed),
        " ",
        go,
      ),
      result,
    ],
  });
}
