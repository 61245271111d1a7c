// silly.signal: run a handler as a new task each time the process receives
// a signal. Loading this module installs upstream's default for SIGINT:
// leave through silly.exit(0), so queued writes and log lines are not lost.
import { constants } from "node:os";
import { fork } from "./task.js";
import { exit } from "./index.js";

export type Handler = (sig: string) => unknown;

const handlers = new Map<string, Handler>();

function deliver(sig: string): void {
  const h = handlers.get(sig);
  if (h !== undefined) fork(h, sig);
}

/** SIGKILL and SIGSTOP cannot be caught; names unknown to this OS are not signals. */
function catchable(sig: string): boolean {
  return Object.hasOwn(constants.signals, sig) && sig !== "SIGKILL" && sig !== "SIGSTOP";
}

/**
 * Run `handler(sig)` as a new task whenever `sig` ("SIGINT", "SIGTERM",
 * "SIGHUP", "SIGUSR2", ...) arrives, in place of the previous handler.
 * Returns the previous handler, or undefined (none yet, or a signal that
 * cannot be caught here; then nothing is installed).
 */
export function signal(sig: string, handler: Handler): Handler | undefined {
  if (typeof sig !== "string") throw new TypeError("signal: sig must be a signal name such as \"SIGINT\"");
  if (typeof handler !== "function") throw new TypeError("signal: handler must be a function");
  if (!catchable(sig)) return undefined;
  const prev = handlers.get(sig);
  if (prev === undefined) process.on(sig, deliver);
  handlers.set(sig, handler);
  return prev;
}

signal("SIGINT", () => exit(0)); // upstream's default

export default signal;
