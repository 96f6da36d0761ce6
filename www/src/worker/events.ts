// What the worker tells the page outside of answers: stages, download progress, panics.

import type { FromWorker, ProgressEvent } from "../protocol";

interface WorkerScope {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

export function post(message: FromWorker, transfer: Transferable[] = []): void {
  (self as unknown as WorkerScope).postMessage(message, transfer);
}

/** What the worker is doing now, for the page's status line. */
export function stage(message: string): void {
  post({ kind: "event", event: "stage", message });
}

export function progress(file: string, loaded: number, total: number, phase: ProgressEvent["phase"]): void {
  post({ kind: "event", event: "progress", file, loaded, total, phase });
}

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  return String(error);
}

/** A request dropped because a newer one on its channel replaced it. */
export class Superseded extends Error {}
