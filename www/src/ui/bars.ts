// Probability bars: one row per label, sorted by probability, rows reused across updates so
// widths animate when an edit moves them. `data-prob` holds Rust's number, unrounded.

import { h, percent } from "./dom";

interface Row {
  root: HTMLDivElement;
  fill: HTMLSpanElement;
  value: HTMLSpanElement;
  cos: HTMLSpanElement;
}

export class BarList {
  readonly element: HTMLDivElement;
  private rows = new Map<string, Row>();

  constructor(className = "bars") {
    this.element = h("div", { class: className });
  }

  /** `probs` and `cosine` are in label order (as Rust returns them). */
  update(labels: string[], probs: number[], cosine: number[] = [], logitScale?: number): void {
    const keys = keyLabels(labels);
    const order = labels.map((_, i) => i).sort((a, b) => (probs[b] ?? 0) - (probs[a] ?? 0));
    const next = new Map<string, Row>();
    const best = order[0];
    for (const i of order) {
      const key = keys[i]!;
      const row = this.rows.get(key) ?? this.makeRow(labels[i]!);
      const p = probs[i] ?? 0;
      row.root.dataset.prob = String(p);
      row.root.classList.toggle("top", i === best);
      row.fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
      row.value.textContent = percent(p);
      const c = cosine[i];
      // The raw cosine beside the probability: what the softmax starts from.
      row.cos.textContent = c === undefined ? "" : `cos ${c.toFixed(3)}`;
      if (c !== undefined) row.root.dataset.cosine = String(c);
      row.root.title =
        c === undefined
          ? `${labels[i]}: ${percent(p)}`
          : `${labels[i]}: p = ${p.toPrecision(4)}, cosine = ${c.toFixed(4)}` +
            (logitScale ? `, logit = ${(c * logitScale).toFixed(2)}` : "");
      next.set(key, row);
      this.element.appendChild(row.root); // moves existing rows into sorted order
    }
    for (const [key, row] of this.rows) if (!next.has(key)) row.root.remove();
    this.rows = next;
  }

  clear(): void {
    for (const row of this.rows.values()) row.root.remove();
    this.rows.clear();
  }

  private makeRow(label: string): Row {
    const fill = h("span", { class: "bar-fill" });
    const value = h("span", { class: "bar-value" });
    const cos = h("span", { class: "bar-cos" });
    const root = h(
      "div",
      { class: "bar", "data-testid": "bar", "data-label": label },
      h("span", { class: "bar-label" }, label),
      h("span", { class: "bar-track" }, fill),
      value,
      cos,
    );
    return { root, fill, value, cos };
  }
}

/** Stable keys for possibly repeated labels (the n-th "cat" is "cat\\0n"). */
function keyLabels(labels: string[]): string[] {
  const seen = new Map<string, number>();
  return labels.map((label) => {
    const n = (seen.get(label) ?? 0) + 1;
    seen.set(label, n);
    return `${label}\u0000${n}`;
  });
}
