// The page's side of the worker protocol: typed calls that resolve with the worker's answer.

import { panicMessage, type Api, type FromWorker, type Method, type Request, type WorkerEvent } from "./protocol";

/** The worker dropped the request because a newer one on its channel replaced it. */
export class SupersededError extends Error {
  constructor() {
    super("superseded by a newer request");
  }
}

/** The worker crashed (a Rust panic or an uncaught error) before answering. */
export class CrashError extends Error {}

/** Why the worker stopped: its message, the request it was answering (the likely culprit),
 * and whether the GPU device was lost (then no request is to blame). */
export interface Crash {
  message: string;
  inFlight: Request | null;
  deviceLost: boolean;
}

export class WorkerClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { request: Request; resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  /** The request the worker said it started and has not answered yet. */
  private inFlight: number | null = null;
  private readonly listeners: ((event: WorkerEvent) => void)[] = [];
  private dead = false;
  /**
   * Where the threaded module's pool threads report a failure (wasm_threads.js): the worker,
   * blocked waiting for the failed thread, cannot. Named after the worker, one per worker.
   */
  private readonly poolReports: BroadcastChannel | null;

  /** `onCrash` is called once, with one sentence, when the worker panics or fails; the client is then dead. */
  constructor(
    url: URL,
    private readonly onCrash: (crash: Crash) => void,
  ) {
    const name = `clip-engine-${globalThis.crypto?.randomUUID?.() ?? Math.random().toString(36).slice(2)}`;
    this.worker = new Worker(url, { type: "module", name });
    this.poolReports = typeof BroadcastChannel === "function" ? new BroadcastChannel(name) : null;
    this.poolReports?.addEventListener("message", (event: MessageEvent<{ type?: string; message?: string }>) => {
      if (event.data?.type !== "clip-pool-thread-failed") return;
      this.crash(`a thread of the classifier failed: ${panicMessage(String(event.data.message ?? "")) || "it stopped"}`);
    });
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => this.receive(event.data);
    this.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.crash(event.message || "the worker script could not be started");
    };
  }

  onEvent(listener: (event: WorkerEvent) => void): void {
    this.listeners.push(listener);
  }

  call<M extends Method>(method: M, params: Api[M]["params"], transfer: Transferable[] = []): Promise<Api[M]["result"]> {
    if (this.dead) return Promise.reject(new CrashError("the classifier was restarted"));
    const id = this.nextId++;
    const request = { kind: "request", id, method, params } as Request;
    return new Promise<Api[M]["result"]>((resolve, reject) => {
      this.pending.set(id, { request, resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage(request, transfer);
    });
  }

  /** Stop the worker; pending calls reject with CrashError. */
  terminate(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.worker.terminate();
    this.poolReports?.close();
    for (const { reject } of this.pending.values()) reject(new CrashError(reason));
    this.pending.clear();
  }

  private crash(message: string, deviceLost = false): void {
    if (this.dead) return;
    const inFlight = deviceLost || this.inFlight === null ? null : (this.pending.get(this.inFlight)?.request ?? null);
    this.terminate(message);
    this.onCrash({ message, inFlight, deviceLost });
  }

  private receive(message: FromWorker): void {
    if (this.dead) return;
    if (message.kind === "event") {
      if (message.event === "panic") {
        this.crash(message.message);
        return;
      }
      if (message.event === "device-lost") {
        this.crash(message.message, true);
        return;
      }
      if (message.event === "started") {
        this.inFlight = message.id;
        return;
      }
      for (const listener of this.listeners) listener(message);
      return;
    }
    const pending = this.pending.get(message.id);
    if (this.inFlight === message.id) this.inFlight = null;
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(message.superseded ? new SupersededError() : new Error(message.error));
  }
}
