// silly.sync.mutex: per-key locks between tasks.
//
// m.lock(key) resolves once the running task holds the lock for `key`. The
// task that holds it may lock the same key again (the lock is reentrant) and
// must unlock as many times. Waiting tasks get the lock in the order they
// asked for it: an unlock hands it straight to the next one.
import task from "silly/task";
import type { Task } from "silly/task";

// `using lock = await m.lock(key)` calls lock[Symbol.dispose](). Node defines
// Symbol.dispose from 20.4 on (as Symbol.for("nodejs.dispose")); define the
// same symbol where it is missing, so the method below has a key.
if (typeof Symbol.dispose !== "symbol") {
  Object.defineProperty(Symbol, "dispose", { value: Symbol.for("nodejs.dispose") });
}

interface Holder {
  owner: Task;
  depth: number;
  waiters: { task: Task; grant: () => void }[];
}

/** One acquisition of a key. unlock() (or the end of a `using` scope) gives it back. */
export class Lock implements Disposable {
  private held = true;

  /** @internal */
  constructor(
    private readonly holders: Map<unknown, Holder>,
    /** The key this lock was taken for. */
    readonly key: unknown,
  ) {}

  /** Give this acquisition back. Calling it again does nothing. */
  unlock(): void {
    if (!this.held) return;
    this.held = false;
    release(this.holders, this.key);
  }

  [Symbol.dispose](): void {
    this.unlock();
  }
}

export class Mutex {
  private readonly holders = new Map<unknown, Holder>();

  /**
   * Take the lock for `key` (any value; compared like Map keys). Resolves at
   * once when the key is free or already held by the running task; otherwise
   * when the tasks before this one have unlocked it. Must run inside a task.
   */
  lock(key: unknown): Promise<Lock> {
    const me = task.running();
    if (me === undefined) throw new Error("mutex.lock: must be called inside a task (use task.fork)");
    const h = this.holders.get(key);
    if (h === undefined) {
      this.holders.set(key, { owner: me, depth: 1, waiters: [] });
      return Promise.resolve(new Lock(this.holders, key));
    }
    if (h.owner === me) {
      h.depth++;
      return Promise.resolve(new Lock(this.holders, key));
    }
    return new Promise<Lock>((resolve) => {
      h.waiters.push({ task: me, grant: () => resolve(new Lock(this.holders, key)) });
    });
  }

  /** Whether some task holds the lock for `key`. */
  islocked(key: unknown): boolean {
    return this.holders.has(key);
  }

}

/** One level of `key` is given back; at zero the next waiter gets the lock. */
function release(holders: Map<unknown, Holder>, key: unknown): void {
  const h = holders.get(key);
  if (h === undefined || --h.depth > 0) return;
  const next = h.waiters.shift();
  if (next === undefined) {
    holders.delete(key);
    return;
  }
  h.owner = next.task;
  h.depth = 1;
  next.grant();
}

/** A new lock manager: each key is a separate lock. */
export function create(): Mutex {
  return new Mutex();
}

const mutex = { new: create, create, Mutex, Lock };
export { create as new };
export default mutex;
