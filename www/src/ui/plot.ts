// Line plots in plain SVG (no chart library: a few kilobytes of our own code): axes with ticks
// and labels, lines with points, an optional min–max band, flat reference lines and a marker.
// Every number drawn comes from Rust; this file only maps them onto the page.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 420;
const HEIGHT = 260;
const MARGIN = { left: 48, right: 14, top: 14, bottom: 44 };

export interface Series {
  name: string;
  /** A CSS class: its colour (see style.css, .plot .s-*). */
  tone: string;
  points: { x: number; y: number }[];
  /** Shaded between lo and hi at each x (e.g. the min and max over random draws). */
  band?: { x: number; lo: number; hi: number }[];
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  xTicks: number[];
  /** Spread the x axis as log2 (k = 1, 2, 4, 8, 16 evenly). */
  logX?: boolean;
  series: Series[];
  /** Horizontal lines across the plot, e.g. zero-shot's accuracy. */
  flat?: { name: string; tone: string; y: number }[];
  /** A labelled point, e.g. where the probe first overtakes zero-shot. */
  mark?: { x: number; y: number; text: string };
}

function el<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** An accuracy plot (y from 0 to 100 %), as an SVG element that scales with its container. */
export function plot(spec: PlotSpec): SVGSVGElement {
  const svg = el("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, class: "plot", role: "img", "aria-label": spec.title });
  svg.append(el("title", {}, spec.title));
  const left = MARGIN.left;
  const right = WIDTH - MARGIN.right;
  const top = MARGIN.top;
  const bottom = HEIGHT - MARGIN.bottom;
  const fx = (x: number) => (spec.logX ? Math.log2(Math.max(x, 1e-9)) : x);
  const xs = spec.xTicks.map(fx);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const sx = (x: number) => (x1 === x0 ? (left + right) / 2 : left + ((fx(x) - x0) / (x1 - x0)) * (right - left));
  const sy = (y: number) => bottom - Math.max(0, Math.min(1, y)) * (bottom - top);

  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(el("line", { x1: left, x2: right, y1: sy(tick), y2: sy(tick), class: "grid" }));
    svg.append(el("text", { x: left - 6, y: sy(tick) + 4, class: "tick", "text-anchor": "end" }, `${Math.round(tick * 100)}%`));
  }
  for (const tick of spec.xTicks) {
    svg.append(el("line", { x1: sx(tick), x2: sx(tick), y1: bottom, y2: bottom + 5, class: "axis" }));
    svg.append(el("text", { x: sx(tick), y: bottom + 18, class: "tick", "text-anchor": "middle" }, String(tick)));
  }
  svg.append(el("line", { x1: left, x2: right, y1: bottom, y2: bottom, class: "axis" }));
  svg.append(el("line", { x1: left, x2: left, y1: top, y2: bottom, class: "axis" }));
  svg.append(el("text", { x: (left + right) / 2, y: HEIGHT - 8, class: "axis-label", "text-anchor": "middle" }, spec.xLabel));
  svg.append(el("text", { x: 12, y: (top + bottom) / 2, class: "axis-label", "text-anchor": "middle", transform: `rotate(-90 12 ${(top + bottom) / 2})` }, spec.yLabel));

  for (const line of spec.flat ?? []) {
    svg.append(el("line", { x1: left, x2: right, y1: sy(line.y), y2: sy(line.y), class: `flat ${line.tone}` }));
  }
  for (const series of spec.series) {
    const group = el("g", { class: `series ${series.tone}`, "data-series": series.name });
    if (series.band && series.band.length > 0) {
      const upper = series.band.map((b) => `${sx(b.x)},${sy(b.hi)}`);
      const lower = [...series.band].reverse().map((b) => `${sx(b.x)},${sy(b.lo)}`);
      group.append(el("polygon", { points: [...upper, ...lower].join(" "), class: "band" }));
    }
    group.append(el("polyline", { points: series.points.map((p) => `${sx(p.x)},${sy(p.y)}`).join(" "), class: "line" }));
    for (const p of series.points) {
      const dot = el("circle", { cx: sx(p.x), cy: sy(p.y), r: 3.5, class: "dot" });
      dot.append(el("title", {}, `${series.name}: ${p.x} → ${(p.y * 100).toFixed(1)}%`));
      group.append(dot);
    }
    svg.append(group);
  }
  if (spec.mark) {
    svg.append(el("circle", { cx: sx(spec.mark.x), cy: sy(spec.mark.y), r: 7, class: "mark" }));
    const anchor = sx(spec.mark.x) > (left + right) / 2 ? "end" : "start";
    svg.append(el("text", { x: sx(spec.mark.x) + (anchor === "end" ? -10 : 10), y: sy(spec.mark.y) - 10, class: "mark-text", "text-anchor": anchor }, spec.mark.text));
  }
  return svg;
}

/** Properties the page's style sheet gives a plot, written onto a standalone copy's elements. */
const STYLED = ["fill", "stroke", "stroke-width", "stroke-dasharray", "opacity", "font-size", "font-weight", "font-family"] as const;
const LEGEND_ROW = 18;

/** The plot as a file of its own: its styles inlined, the legend drawn under it, on white. */
export function standaloneSvg(svg: SVGSVGElement, entries: { name: string; tone: string }[]): string {
  const copy = svg.cloneNode(true) as SVGSVGElement;
  const originals = [svg, ...svg.querySelectorAll("*")];
  const copies = [copy, ...copy.querySelectorAll("*")];
  originals.forEach((original, i) => {
    const style = getComputedStyle(original);
    const target = copies[i] as SVGElement;
    for (const name of STYLED) target.style.setProperty(name, style.getPropertyValue(name));
  });
  const height = HEIGHT + entries.length * LEGEND_ROW + 6;
  copy.setAttribute("xmlns", SVG);
  copy.setAttribute("viewBox", `0 0 ${WIDTH} ${height}`);
  copy.setAttribute("width", String(WIDTH * 2));
  copy.setAttribute("height", String(height * 2));
  copy.removeAttribute("class");
  copy.prepend(el("rect", { x: 0, y: 0, width: WIDTH, height, fill: "#fff" }));
  entries.forEach((entry, i) => {
    const y = HEIGHT + i * LEGEND_ROW + 10;
    const probe = document.createElement("span");
    probe.className = entry.tone;
    svg.parentElement?.append(probe);
    const tone = getComputedStyle(probe).getPropertyValue("--tone").trim() || "#333";
    probe.remove();
    copy.append(el("rect", { x: MARGIN.left, y: y - 4, width: 16, height: 4, rx: 2, fill: tone }));
    copy.append(el("text", { x: MARGIN.left + 22, y, "font-size": 11, "font-family": "sans-serif", fill: "#333" }, entry.name));
  });
  return new XMLSerializer().serializeToString(copy);
}

/** "PNG · SVG" links that save the plot (and its legend) as a file for a worksheet or slides. */
export function plotDownloads(svg: SVGSVGElement, entries: { name: string; tone: string }[], name: string, save: (file: string, blob: Blob) => void): HTMLElement {
  const line = document.createElement("p");
  line.className = "plot-downloads muted small";
  const button = (text: string, kind: "png" | "svg") => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "link";
    b.dataset.testid = `plot-${kind}`;
    b.textContent = text;
    b.addEventListener("click", async () => {
      const text = standaloneSvg(svg, entries);
      const blob = new Blob([text], { type: "image/svg+xml" });
      save(`${name}.${kind}`, kind === "svg" ? blob : await pngOf(blob));
    });
    return b;
  };
  line.append("Save this plot: ", button("PNG", "png"), " · ", button("SVG", "svg"));
  return line;
}

/** An SVG drawn onto a canvas at its own (double) size, as PNG. */
async function pngOf(svg: Blob): Promise<Blob> {
  const url = URL.createObjectURL(svg);
  try {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = document.createElement("canvas");
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    canvas.getContext("2d")?.drawImage(image, 0, 0);
    return await new Promise<Blob>((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the plot could not be drawn"))), "image/png"));
  } finally {
    URL.revokeObjectURL(url);
  }
}

/** The legend under a plot: one swatch per series and flat line. */
export function legend(entries: { name: string; tone: string }[]): HTMLElement {
  const list = document.createElement("ul");
  list.className = "plot-legend";
  for (const entry of entries) {
    const item = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = `swatch ${entry.tone}`;
    item.append(swatch, entry.name);
    list.append(item);
  }
  return list;
}
