// The per-template view of one image: a label × template table of each template's own
// probabilities beside the ensemble's, and which templates move the answer. Every number is
// Rust's; this file only lays them out.

import { bestIndex as best, h, percent } from "./dom";

export class Heatmap {
  readonly element: HTMLDetailsElement;
  private readonly body: HTMLDivElement;
  private readonly summary: HTMLElement;

  constructor() {
    this.summary = h("summary", {}, "Each template on its own");
    this.body = h("div", { class: "heatmap-body" });
    this.element = h("details", { class: "heatmap", "data-testid": "heatmap" }, this.summary, this.body);
  }

  /** `perTemplate[t][l]`: template t's own probability of label l; `ensemble[l]` the ensemble's. */
  update(labels: string[], templates: string[], perTemplate: number[][], ensemble: number[]): void {
    if (templates.length < 2) {
      this.element.hidden = true;
      return;
    }
    this.element.hidden = false;
    const top = best(ensemble);
    // How far each template's answer is from the ensemble's (total variation), and whether its
    // own top label differs: those are the templates that move the answer.
    const distance = perTemplate.map((p) => 0.5 * p.reduce((sum, v, l) => sum + Math.abs(v - (ensemble[l] ?? 0)), 0));
    const flips = perTemplate.map((p) => best(p) !== top);
    const most = best(distance);
    const head = h(
      "tr",
      {},
      h("th", { scope: "col" }, "label"),
      ...templates.map((t, i) =>
        h(
          "th",
          {
            scope: "col",
            class: `${flips[i] ? "flips" : ""} ${i === most ? "most" : ""}`.trim(),
            title: `${t}\n${flips[i] ? "picks another label than the ensemble" : "agrees with the ensemble"}; differs by ${percent(distance[i] ?? 0)}`,
            "data-template": t,
          },
          h("span", { class: "template-text" }, t),
        ),
      ),
      h("th", { scope: "col", class: "ensemble" }, "ensemble"),
    );
    const rows = labels.map((label, l) =>
      h(
        "tr",
        { class: l === top ? "top" : undefined },
        h("th", { scope: "row" }, label),
        ...templates.map((_, t) => cell(perTemplate[t]?.[l] ?? 0, best(perTemplate[t] ?? []) === l)),
        cell(ensemble[l] ?? 0, l === top, "ensemble"),
      ),
    );
    const moved = templates.filter((_, i) => flips[i]);
    const note = moved.length
      ? `On its own, ${moved.map((t) => `“${t}”`).join(", ")} would pick another label; the ensemble picks “${labels[top]}”.`
      : `Every template alone picks “${labels[top]}”, like the ensemble; “${templates[most]}” differs from it most.`;
    this.summary.textContent = `Each template on its own (${templates.length}): ${moved.length} change${moved.length === 1 ? "s" : ""} the answer`;
    this.body.replaceChildren(
      h("div", { class: "heatmap-scroll" }, h("table", {}, h("thead", {}, head), h("tbody", {}, ...rows))),
      h("p", { class: "heatmap-note" }, note),
    );
    this.element.dataset.perTemplate = JSON.stringify(perTemplate);
  }

  clear(): void {
    this.body.replaceChildren();
    this.element.hidden = true;
  }
}

function cell(p: number, isTop: boolean, extra = ""): HTMLTableCellElement {
  const td = h("td", { class: `${isTop ? "best" : ""} ${extra}`.trim(), "data-prob": String(p) }, percent(p));
  // Shade by probability, so the table reads as a heat map.
  td.style.setProperty("--p", String(Math.max(0, Math.min(1, p))));
  return td;
}
