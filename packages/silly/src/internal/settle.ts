// The task hook behind protocol.onsettle: the running task reports the
// settling of its function's promise to a callback instead of logging it.
import { current } from "./identity.js";
import type { Task } from "../task.js";

export function settle<A>(fn: (arg: A, threw: boolean, err: unknown) => void, arg: A): boolean {
  const t = current() as Task | undefined;
  if (t === undefined || t.status !== "RUN") return false;
  t.endfn = fn as (arg: unknown, threw: boolean, err: unknown) => void;
  t.endarg = arg;
  return true;
}
