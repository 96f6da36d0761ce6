// Lesson: the same prompts, another model (the paper's scaling result, tried). A second engine,
// in a worker of its own, runs another of the site's models on the gallery's images with the
// labels, templates and τ above, beside the model the page runs, with top-1 accuracy on the
// labelled images for each. It lives only while the lesson compares: "Stop" frees its memory.

import { type App, type Item, messageOf } from "../app";
import { CrashError, SupersededError, WorkerClient } from "../client";
import { modelUrl, workerUrl } from "../engine";
import { concernAbout, describe } from "../models";
import type { ClassifyResult, SiteModel } from "../protocol";
import { bestIndex, h, percent, sentence } from "../ui/dom";
import type { LessonPath } from "./path";

interface Other {
  model: SiteModel;
  client: WorkerClient;
  /** Gallery images whose embedding this engine holds. */
  embedded: Set<string>;
  ready: boolean;
}

export function mountCompare(app: App, path: LessonPath): void {
  const select = h("select", { id: "compare-model", "data-testid": "compare-model", "aria-label": "Model to compare with" });
  const start = h("button", { type: "button", class: "button", "data-testid": "compare-start" }, "Compare");
  const stop = h("button", { type: "button", class: "button secondary", hidden: "" }, "Stop comparing");
  const status = h("p", { class: "muted small", role: "status", "data-testid": "compare-status" });
  const result = h("div", { class: "compare-models", "data-testid": "compare-result" });
  let other: Other | null = null;
  let generation = 0;

  const fill = () => {
    const choices = app.models.filter((m) => m.name !== app.modelName);
    const kept = select.value;
    select.replaceChildren(...choices.map((m) => h("option", { value: m.name }, describe(m))));
    if (choices.some((m) => m.name === kept)) select.value = kept;
    start.disabled = choices.length === 0;
    if (choices.length === 0) status.textContent = "This site offers one model; a site built with ./build.sh --model A --model B offers several.";
  };

  const end = (message: string) => {
    other?.client.terminate("the comparison was stopped");
    other = null;
    generation++;
    stop.hidden = true;
    result.replaceChildren();
    status.textContent = message;
  };

  const begin = async (model: SiteModel) => {
    end("");
    const gpu = app.params.get("backend") !== "cpu";
    const client = new WorkerClient(workerUrl(app.params, gpu), (crash) => {
      if (other?.client === client) end(`${model.name} stopped (${sentence(crash.message)}); the page's own model is unaffected.`);
    });
    const mine: Other = { model, client, embedded: new Set(), ready: false };
    other = mine;
    stop.hidden = false;
    status.textContent = `Loading ${model.name}…`;
    client.onEvent((event) => {
      if (event.event === "stage" && !mine.ready) status.textContent = `${model.name}: ${event.message}…`;
    });
    try {
      await client.call("init", {
        preferGpu: gpu,
        allowSoftwareGpu: app.params.get("backend") === "webgpu",
        modelUrl: modelUrl(model.name),
        keepBundles: app.models.map((m) => m.bundleId),
        debugShaders: false,
      });
    } catch (error) {
      if (other === mine && !(error instanceof CrashError)) end(`${model.name} could not be loaded: ${sentence(messageOf(error))}`);
      return;
    }
    if (other !== mine) return;
    mine.ready = true;
    status.textContent = `${model.name} is loaded; it sees the same images, labels and templates as ${app.modelName}.`;
    await run();
  };

  /** Embed what the other model lacks, then score every image with both, as one generation. */
  const run = async () => {
    const mine = other;
    if (!mine?.ready || !app.ready) return;
    const asked = ++generation;
    const items = app.items.filter((i) => i.embedded && !i.failed);
    try {
      for (const item of items) {
        if (mine.embedded.has(item.id)) continue;
        const bytes = await item.blob.arrayBuffer();
        if (asked !== generation) return; // a newer run embeds the rest
        await mine.client.call("embed", { imageId: item.id, bytes }, [bytes]);
        mine.embedded.add(item.id);
      }
      const ask = (caller: { call: App["call"] }) =>
        caller.call("classify", {
          channel: "compare-models",
          generation: asked,
          imageIds: items.map((i) => i.id),
          labels: app.labelValues(),
          templates: app.templateValues(),
          ...app.scaleParam(),
        });
      const [ours, theirs] = await Promise.all([ask(app), ask(mine.client)]);
      if (asked === generation && other === mine) show(mine.model, items, ours, theirs);
    } catch (error) {
      if (error instanceof SupersededError || error instanceof CrashError || asked !== generation) return;
      result.replaceChildren(h("p", { class: "error" }, sentence(messageOf(error))));
    }
  };

  const show = (model: SiteModel, items: Item[], ours: ClassifyResult, theirs: ClassifyResult) => {
    // Each model's pick per image (its most probable label, as Rust scored it), and top-1
    // accuracy over the images whose true label is among the labels.
    const pick = (answer: ClassifyResult, item: Item) => {
      const probs = answer.scores[item.id]?.probs ?? [];
      const best = bestIndex(probs);
      return { label: answer.labels[best] ?? "", p: probs[best] ?? 0 };
    };
    const labels = app.labelValues();
    const rows = items.map((item) => ({ item, a: pick(ours, item), b: pick(theirs, item), truth: item.card.trueLabel }));
    const labelled = rows.filter((r) => r.truth !== null && labels.includes(r.truth));
    const right = (key: "a" | "b") => labelled.filter((r) => r[key].label === r.truth).length;
    result.dataset.modelA = app.modelName;
    result.dataset.modelB = model.name;
    result.dataset.probsA = JSON.stringify(Object.fromEntries(items.map((i) => [i.name, ours.scores[i.id]?.probs ?? null])));
    result.dataset.probsB = JSON.stringify(Object.fromEntries(items.map((i) => [i.name, theirs.scores[i.id]?.probs ?? null])));
    const accuracy = (key: "a" | "b", name: string) => {
      const k = right(key);
      const n = labelled.length;
      result.dataset[key === "a" ? "accuracyA" : "accuracyB"] = n ? String(k / n) : "";
      return h("p", { class: "compare-accuracy", "data-testid": `compare-accuracy-${key}` }, h("strong", {}, name), n ? `: ${k} of ${n} labelled images right (${percent(k / n)})` : ": no labelled images yet");
    };
    const cell = (answer: { label: string; p: number }, truth: string | null) =>
      h("td", { class: truth === null ? "" : answer.label === truth ? "right" : "wrong" }, `${answer.label} (${percent(answer.p)})`);
    result.replaceChildren(
      accuracy("a", app.modelName),
      accuracy("b", model.name),
      h(
        "table",
        { class: "compare-table" },
        h("thead", {}, h("tr", {}, h("th", {}, "image"), h("th", {}, "true label"), h("th", {}, app.modelName), h("th", {}, model.name))),
        h(
          "tbody",
          {},
          ...rows.map((r) =>
            h("tr", { "data-image": r.item.name }, h("td", {}, h("img", { src: r.item.url, alt: "" }), r.item.name), h("td", {}, r.truth ?? "–"), cell(r.a, r.truth), cell(r.b, r.truth)),
          ),
        ),
      ),
    );
  };

  start.addEventListener("click", async () => {
    const model = app.models.find((m) => m.name === select.value);
    if (!model) return;
    const concern = await concernAbout(app, model);
    if (concern === null) {
      void begin(model);
      return;
    }
    const anyway = h("button", { type: "button", class: "button secondary", "data-testid": "compare-anyway" }, "Compare anyway");
    anyway.addEventListener("click", () => void begin(model));
    status.replaceChildren(concern, " ", anyway);
  });
  stop.addEventListener("click", () => end(""));
  app.on("ready", () => {
    fill();
    void run();
  });
  for (const event of ["text", "embedded", "truth"] as const) app.on(event, () => void run());
  app.on("removed", (item) => {
    if (other?.embedded.delete(item.id)) void other.client.call("forget", { imageId: item.id }).catch(() => undefined);
    void run();
  });

  path.add({
    key: "models",
    title: "The same prompts, another model",
    tryThis: "pick another of the site's models and press Compare: it classifies the same images with the same labels and templates.",
    notice:
      "the paper's bigger models (ViT-B/16, ViT-L/14) are usually right more often with nothing else changed, and they disagree with the smaller one on the hard images; a model trained on other data (LAION) errs differently.",
    body: [h("p", { class: "compare-controls" }, h("label", {}, "Compare with ", select), " ", start, " ", stop), status, result],
  });
}
