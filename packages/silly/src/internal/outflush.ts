// Writers with queued output (see Conn). One setImmediate sends them all
// after the poll phase's I/O callbacks, when the replies to every read event
// of the phase are in: one write per connection per loop iteration, and the
// writes of all connections in one burst. Measured on 32-byte WebSocket echo
// against flushing each connection as soon as its reader blocks: +6% one in
// flight, +9% sixteen in flight (on a VM, a burst of writes wakes the peer
// less often). Cheaper than a process.nextTick per write too.
// silly.exit() sends them at once.

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
