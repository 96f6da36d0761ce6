// Lesson: robustness under distribution shift. A linear probe fitted on one kind of picture
// (drawings, say) is tested on another (photos), beside zero-shot, which trained on neither:
// the paper's distribution-shift figure, on the visitor's own cards. Each card says what kind of
// picture it is; Rust fits and scores (crate/src/curves.rs).

import { type App, Channel, messageOf } from "../app";
import type { Gallery } from "../gallery";
import { labelledSetButton } from "../inputs";
import type { DomainShiftResult } from "../protocol";
import { DOMAINS } from "../ui/card";
import { h, milliseconds, percent, sentence } from "../ui/dom";
import type { LessonPath } from "./path";

export function mountShift(app: App, path: LessonPath, gallery: Gallery): void {
  const channel = new Channel(app, "shift");
  const trainOn = h("select", { id: "shift-train", "data-keep": "", "data-testid": "shift-train" }, ...DOMAINS.map((d) => h("option", { value: d, selected: d === "drawing" ? "" : undefined }, `${d}s`)));
  const go = h("button", { type: "button", class: "button", "data-testid": "shift-run" }, "Train and compare");
  const result = h("div", { class: "shift-result", "data-testid": "shift-result" }, h("p", { class: "muted" }, "Load the photos and drawings (or label your own and say which kind each is), then train and compare."));

  const show = (text: string) => {
    result.replaceChildren(h("p", { class: "muted" }, text));
    delete result.dataset.shift;
  };

  const run = async () => {
    if (!app.ready) return;
    const labelled = app.labelled();
    const domains = new Set(labelled.map((l) => l.image.domain));
    if (domains.size < 2) {
      channel.cancel();
      return show(
        `All ${labelled.length} labelled images are ${[...domains][0] ?? "of one kind"}: give some cards another kind (the box on each card) or add photos of the same labels (webcam, or your own files).`,
      );
    }
    result.classList.add("stale");
    let answer: DomainShiftResult | null;
    try {
      answer = await channel.ask("domainShift", {
        labelled: labelled.map((l) => l.image),
        labels: app.labelValues(),
        templates: app.templateValues(),
        trainDomain: trainOn.value,
        draws: 10,
        seed: 0,
        c: 1,
      });
    } catch (error) {
      result.classList.remove("stale");
      return show(sentence(messageOf(error)));
    }
    if (!answer) return;
    result.classList.remove("stale");
    draw(answer);
  };

  const draw = (shift: DomainShiftResult) => {
    const bar = (p: number | null, tone: string) => {
      const span = h("span", { class: `ab-bar ${tone}` });
      span.style.setProperty("--p", String(p ?? 0));
      return span;
    };
    const rows = shift.domains.map((d) =>
      h(
        "tr",
        { "data-domain": d.domain },
        h("th", { scope: "row" }, `${d.domain}s${d.domain === shift.train_domain ? " (trained on)" : ""}`, h("span", { class: "muted small" }, ` ${d.images} image${d.images === 1 ? "" : "s"}`)),
        h("td", { "data-value": String(d.zero_shot) }, percent(d.zero_shot), bar(d.zero_shot, "s-zero")),
        h(
          "td",
          { "data-value": d.probe === null ? "" : String(d.probe) },
          d.probe === null ? "— (every image trained on)" : `${percent(d.probe)} (${percent(d.probe_min ?? 0)}–${percent(d.probe_max ?? 0)})`,
          bar(d.probe, "s-probe"),
        ),
      ),
    );
    result.dataset.shift = JSON.stringify(shift);
    result.dataset.images = JSON.stringify(app.namesOf(shift.imageIds));
    const trained = shift.domains[0]!;
    const others = shift.domains.slice(1).filter((d) => d.probe !== null);
    const away = others.map((d) => `on ${d.domain}s, which it never saw, the probe gets ${percent(d.probe!)} and zero-shot ${percent(d.zero_shot)}`).join("; ");
    result.replaceChildren(
      h(
        "table",
        { class: "shift-table", "data-testid": "shift-table" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "tested on"), h("th", { scope: "col" }, "zero-shot"), h("th", { scope: "col" }, `probe fitted on ${shift.k} ${trained.domain}${shift.k === 1 ? "" : "s"} per label`))),
        h("tbody", {}, ...rows),
      ),
      h("p", { "data-testid": "shift-verdict" }, away ? `Fitted on ${trained.domain}s: ${away}.` : "No other kind of picture has labelled images to test on."),
      h("p", { class: "muted small" }, `Mean (and min–max) over ${shift.draws} random training sets; the probe is tested only on images it did not train on. ${milliseconds(shift.ms)}.`),
    );
  };

  go.addEventListener("click", () => void run());
  trainOn.addEventListener("change", () => {
    if (result.dataset.shift) void run();
  });
  app.on("domain", () => {
    if (result.dataset.shift) void run();
  });

  path.add({
    key: "shift",
    title: "Robustness: photos against drawings",
    tryThis: "load the photos and drawings, train on drawings and compare; then train on photos. Add your own: photograph classroom objects with the webcam, give them a true label and mark them “photo”.",
    notice:
      "a probe fitted on one kind of picture learns that kind's quirks and loses more on the other; zero-shot never saw either, and the CLIP paper found it holds up far better under such shifts.",
    body: [h("p", { class: "probe-controls" }, labelledSetButton(app, gallery, "domains"), " ", h("label", {}, "Fit the probe on ", trainOn), " ", go), result],
  });
}
