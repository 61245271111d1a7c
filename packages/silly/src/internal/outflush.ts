// Writers with queued output that no blocking read has sent yet (see Conn).
// One setImmediate sends them all after the poll phase's I/O callbacks:
// cheaper than a process.nextTick per write, and the replies to every read
// event of the phase are in by then. silly.exit() sends them at once.

/** Something with output queued for a later flush. */
export interface Flushable {
  isflushing(): boolean;
  flush(): void;
}

let dirty: Flushable[] = [];
let spare: Flushable[] = [];
let immediate = false;

/** Flush `w` after this poll phase unless something flushes it first. */
export function flushlater(w: Flushable): void {
  dirty.push(w);
  if (!immediate) {
    immediate = true;
    setImmediate(flushpending);
  }
}

/** Flush every writer still waiting for its flush now. */
export function flushpending(): void {
  immediate = false;
  const list = dirty;
  dirty = spare;
  for (let i = 0; i < list.length; i++) {
    const w = list[i]!;
    if (w.isflushing()) w.flush();
  }
  list.length = 0;
  spare = list;
}
