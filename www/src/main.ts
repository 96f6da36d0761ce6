// The page: wires the app state, the engine, the core loop (editors, gallery, inputs) and the
// lessons, in the order the page shows them. All zero-shot arithmetic happens in Rust; the
// modules only send requests and draw what comes back.

import { App } from "./app";
import { mountEditors } from "./editors";
import { Engine } from "./engine";
import { ErrorBanner } from "./errors";
import { Gallery } from "./gallery";
import { loadExamples, mountInputs } from "./inputs";
import { mountAB } from "./lessons/ab";
import { mountCompare } from "./lessons/compare";
import { mountContrast } from "./lessons/contrast";
import { mountEnsemble } from "./lessons/ensemble";
import { mountLabelSet } from "./lessons/labelset";
import { LessonPath } from "./lessons/path";
import { mountProbe } from "./lessons/probe";
import { mountSearch } from "./lessons/search";
import { mountShift } from "./lessons/shift";
import { mountShots } from "./lessons/shots";
import { mountTemperature } from "./lessons/temperature";
import { mountTemplates } from "./lessons/templates";
import { mountTypographic } from "./lessons/typographic";
import { mountWording } from "./lessons/wording";
import { mountZeroShot } from "./lessons/zero-shot";
import { mountModelPicker, readModels } from "./models";
import { keepOffline, startServiceWorker } from "./offline";
import { mountExport } from "./export";
import { mountSession } from "./session";
import { mountShare } from "./share";

const app = new App();
const errors = new ErrorBanner();
app.reportErrorsTo((source, message) => errors.set(source, message));
const engine = new Engine(app);

// The core loop: labels and templates in, images in, bars out.
mountEditors(app);
const gallery = new Gallery(app);
const openSession = mountSession(app, gallery);
mountInputs(app, gallery, openSession);

// The lessons, in the paper's order. Their settings enter the link in this order too, after
// the editors' (the templates lesson shortens a link to its preset).
const path = new LessonPath();
mountZeroShot(app, path);
mountContrast(app, path, gallery);
mountWording(app, path);
mountTemplates(app, path);
mountEnsemble(app, path, gallery);
mountAB(app, path, gallery);
mountTemperature(app, path);
mountLabelSet(app, path);
mountSearch(app, path);
mountProbe(app, path);
mountShots(app, path, gallery);
mountShift(app, path, gallery);
mountTypographic(app, path, gallery);
mountCompare(app, path);
const restoreLink = mountShare(app);
mountExport(app);

// ?debug=hooks: the browser tests reach the worker's test hooks through this.
if (app.params.get("debug") === "hooks") {
  (window as unknown as { clipDebug: object }).clipDebug = { loseDevice: () => app.call("loseDevice", {}) };
}

// The service worker first (offline.ts): a new deploy is taken, or on a host that sends no
// isolation headers the page reloads under it so that the CPU path may run on threads, before
// anything is started. Once a model answers, the worker stores the rest of the page for offline use.
if (!(await startServiceWorker(app.params))) {
  app.on("ready", () => void keepOffline());
  await readModels(app);
  mountModelPicker(app, engine);
  engine.start();
  restoreLink();
  void loadExamples(app, gallery);
}
