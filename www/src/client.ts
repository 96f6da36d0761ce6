// The page's side of the worker protocol: typed calls that resolve with the worker's answer.

import type { Api, FromWorker, Method, Request, WorkerEvent } from "./protocol";

/** The worker dropped the request because a newer one on its channel replaced it. */
export class SupersededError extends Error {
  constructor() {
    super("superseded by a newer request");
  }
}

export class WorkerClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly listeners: ((event: WorkerEvent) => void)[] = [];

  constructor(url: URL, onCrash: (message: string) => void) {
    this.worker = new Worker(url, { type: "module" });
    this.worker.onmessage = (event: MessageEvent<FromWorker>) => this.receive(event.data);
    this.worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      const message = event.message || "the worker script could not be started";
      onCrash(`The classifier stopped unexpectedly (${message}).`);
      for (const { reject } of this.pending.values()) reject(new Error(`The classifier stopped unexpectedly (${message}).`));
      this.pending.clear();
    };
  }

  onEvent(listener: (event: WorkerEvent) => void): void {
    this.listeners.push(listener);
  }

  call<M extends Method>(method: M, params: Api[M]["params"], transfer: Transferable[] = []): Promise<Api[M]["result"]> {
    const id = this.nextId++;
    const request = { kind: "request", id, method, params } as Request;
    return new Promise<Api[M]["result"]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.postMessage(request, transfer);
    });
  }

  private receive(message: FromWorker): void {
    if (message.kind === "event") {
      for (const listener of this.listeners) listener(message);
      return;
    }
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(message.superseded ? new SupersededError() : new Error(message.error));
  }
}
