// silly.sync.waitgroup: wait until every task of a group has finished.
//
// wg.fork(fn) starts fn as a task and counts it; the count drops when the
// task ends, whether it returned or threw (a throw is logged by silly/task as
// for any task). wg.wait() resolves once the count is zero.
import task from "silly/task";
import type { Task } from "silly/task";

export class WaitGroup {
  private running = 0;
  private waiters: (() => void)[] = [];

  /** How many tasks started with fork() have not finished yet. */
  get count(): number {
    return this.running;
  }

  /**
   * Start `fn(ud)` as a new task that belongs to this group, like task.fork.
   * Returns the task handle at once.
   */
  fork<U = undefined>(fn: (ud: U) => unknown, ud?: U): Task {
    if (typeof fn !== "function") throw new TypeError("wg.fork: fn must be a function");
    this.running++;
    const member = async (arg: U): Promise<unknown> => {
      try {
        return await fn(arg);
      } finally {
        this.done();
      }
    };
    Object.defineProperty(member, "name", { value: fn.name || "anonymous" }); // for task.inspect()
    return task.fork(member, ud as U);
  }

  /** Resolve once every task of the group has finished (at once when there are none). */
  wait(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private done(): void {
    if (--this.running > 0) return;
    const woken = this.waiters;
    this.waiters = [];
    for (const resolve of woken) resolve();
  }
}

/** A new, empty wait group. */
export function create(): WaitGroup {
  return new WaitGroup();
}

const waitgroup = { new: create, create, WaitGroup };
export { create as new };
export default waitgroup;
