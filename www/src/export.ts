// "Download results": every gallery image × label with the probability, the cosine and the true
// label, as CSV (one row per image and label, for a spreadsheet) and as JSON (the CLI's
// `clip classify` shape, plus true labels and the model's name). Where an image's heat map is open, its row also has
// each template's own probability. Every number is the one Rust sent for the bars; this module
// only lays them out.

import type { App, Item, ZeroShot } from "./app";
import { byId, download, today } from "./ui/dom";

export function mountExport(app: App): void {
  const status = byId("export-status");
  // Images scored with the current labels (after a label error the bars keep older numbers).
  const scored = () => {
    const labels = JSON.stringify(app.labelValues());
    return app.items.filter((i): i is Item & { zeroShot: ZeroShot } => !i.failed && i.zeroShot !== null && JSON.stringify(i.zeroShot.labels) === labels);
  };
  const give = (kind: "csv" | "json") => {
    const items = scored();
    if (items.length === 0) {
      status.textContent = "There are no classified images to export yet: add an image and wait for its bars.";
      return;
    }
    const text = kind === "csv" ? toCsv(items) : JSON.stringify(toJson(app, items), null, 1);
    download(`clip-results-${today()}.${kind}`, new Blob([text], { type: kind === "csv" ? "text/csv;charset=utf-8" : "application/json" }));
    status.textContent = `Saved ${items.length} image${items.length === 1 ? "" : "s"} × ${items[0]!.zeroShot.classes.length} labels as ${kind.toUpperCase()}.`;
  };
  byId("export-csv").addEventListener("click", () => give("csv"));
  byId("export-json").addEventListener("click", () => give("json"));
}

/** Per-template numbers are exported for an image whose heat map the visitor opened. */
const perTemplateOf = (item: Item & { zeroShot: ZeroShot }) => (item.card.heatmap.element.open ? item.zeroShot.perTemplate : null);

function toCsv(items: (Item & { zeroShot: ZeroShot })[]): string {
  // Template columns: those of the images with an open heat map (all share the current templates).
  const withTemplates = items.find((i) => perTemplateOf(i) !== null);
  const templates = withTemplates ? withTemplates.zeroShot.templates : [];
  const header = ["image", "true_label", "label", "probability", "cosine", "rank", ...templates.map((t) => `probability with "${t}"`)];
  const rows = [header.map(cell)];
  for (const item of items) {
    const z = item.zeroShot;
    const per = perTemplateOf(item);
    const order = z.probs.map((p, l) => [p, l] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const rank = new Map(order.map(([, l], r) => [l, r + 1]));
    z.classes.forEach((label, l) => {
      rows.push([
        cell(item.name),
        cell(item.card.trueLabel ?? ""),
        cell(label),
        String(z.probs[l]),
        String(z.cosine[l]),
        String(rank.get(l)),
        ...templates.map((_, t) => (per ? String(per[t]?.[l] ?? "") : "")),
      ]);
    });
  }
  return rows.map((r) => r.join(",")).join("\r\n") + "\r\n";
}

/** One CSV text cell: quoted where needed, and never read as a formula by a spreadsheet. */
function cell(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function toJson(app: App, items: (Item & { zeroShot: ZeroShot })[]) {
  const first = items[0]!.zeroShot;
  return {
    model: app.modelName,
    labels: first.classes,
    templates: first.templates,
    logit_scale: app.tau ?? null,
    results: items.map((item) => {
      const per = perTemplateOf(item);
      return {
        image: item.name,
        true_label: item.card.trueLabel,
        probs: item.zeroShot.probs,
        cosine: item.zeroShot.cosine,
        ...(per ? { per_template: per } : {}),
      };
    }),
  };
}
