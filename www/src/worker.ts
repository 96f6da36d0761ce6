// The module worker that owns the one Engine. Requests run one at a time (the engine takes one
// request at a time); classification jumps ahead of image embedding so text edits stay live, and
// a request superseded by a newer one on its channel is dropped. Requests that need only the wasm
// module (link state, presets) are answered at once, even while a model loads.

import type { Api, Method, ModelEstimate, PageState, Preset, Request } from "./protocol";
import { panicMessage } from "./protocol";
import { Superseded, messageOf, post } from "./worker/events";
import { loseDevice } from "./worker/gpu";
import { initialize } from "./worker/load";
import { startWasm, wasm } from "./worker/modules";
import * as requests from "./worker/requests";

type Handler<M extends Method> = (params: Api[M]["params"]) => Api[M]["result"] | Promise<Api[M]["result"]>;
type Handlers = { [M in Method]: Handler<M> };

/** Answered at once: they need the wasm module, not a loaded model. */
const immediate: Partial<Handlers> = {
  parseState: async ({ fragment }) => {
    await startWasm();
    return JSON.parse(wasm.Engine.parseState(fragment)) as PageState;
  },
  encodeState: async ({ state }) => {
    await startWasm();
    return { fragment: wasm.Engine.encodeState(JSON.stringify(state)) };
  },
  presets: async () => {
    await startWasm();
    return JSON.parse(wasm.Engine.presets()) as { presets: Preset[] };
  },
  modelCosts: async (params) => {
    await startWasm();
    return { estimates: JSON.parse(wasm.Engine.modelCosts(JSON.stringify(params))) as ModelEstimate[] };
  },
};

/** Answered in turn, one at a time. */
const queued: Omit<Handlers, keyof typeof immediate> & Partial<Handlers> = {
  init: (params) => {
    requests.setDebugHooks(params.debugHooks === true);
    return initialize(params);
  },
  embed: requests.embed,
  classify: requests.classify,
  forget: ({ imageId }) => requests.forget(imageId),
  presetTop: requests.presetTop,
  search: requests.search,
  probe: requests.probe,
  contrast: requests.contrast,
  shotCurve: requests.shotCurve,
  templateCurve: requests.templateCurve,
  domainShift: requests.domainShift,
  loseDevice: () => {
    if (!requests.hooksOn()) throw new Error("test hooks are off (add ?debug=hooks to the address)");
    return loseDevice();
  },
};

// console_error_panic_hook reports Rust panics through console.error: forward them to the page,
// which restarts the worker (a panic in wasm aborts the request it happened in, unanswered).
const consoleError = console.error.bind(console);
console.error = (...args: unknown[]) => {
  consoleError(...args);
  const text = args.map(String).join(" ");
  if (text.startsWith("panicked at")) post({ kind: "event", event: "panic", message: panicMessage(text) });
};

const queue: Request[] = [];
let running = false;

(self as unknown as { onmessage: (event: MessageEvent<Request>) => void }).onmessage = (event) => {
  const request = event.data;
  if ("channel" in request.params && "generation" in request.params) requests.arrived(request.params.channel, request.params.generation);
  if (request.method in immediate) {
    void answer(request, immediate);
    return;
  }
  queue.push(request);
  void pump();
};

/** Run `request` with its handler and post the answer (or the error, in one clause). */
async function answer(request: Request, handlers: Partial<Handlers>): Promise<void> {
  try {
    const handler = handlers[request.method] as Handler<typeof request.method> | undefined;
    if (!handler) throw new Error(`the worker has no handler for ${request.method}`);
    const result = await handler(request.params as never);
    post({ kind: "response", id: request.id, ok: true, result });
  } catch (error) {
    post({ kind: "response", id: request.id, ok: false, error: messageOf(error), superseded: error instanceof Superseded });
  }
}

/** Next request: the first non-embed one if any (text edits must not wait behind images), else the oldest. */
function takeNext(): Request | undefined {
  const urgent = queue.findIndex((r) => r.method !== "embed");
  return queue.splice(urgent >= 0 ? urgent : 0, 1)[0];
}

async function pump(): Promise<void> {
  if (running) return;
  running = true;
  try {
    for (let request = takeNext(); request; request = takeNext()) {
      post({ kind: "event", event: "started", id: request.id });
      await answer(request, queued);
    }
  } finally {
    running = false;
  }
}
