// One timer for the deadlines of every socket: a binary min-heap ordered by
// deadline, and a single unref'd Node.js timer set for the earliest one.
// A socket costs a slot in the heap and a number (its place in it) instead of
// a Timeout object of its own: most sockets are idle, and each one has a
// keepalive deadline.

import logger from "silly/logger";

export interface Timed {
  /** The deadline in ms on clock(); < 0 for none. Each change must be followed by schedule(). */
  readonly at: number;
  /** The place in the heap, or -1 when not scheduled. */
  slot: number;
  /** The deadline passed. */
  ontime(now: number): void;
}

const heap: Timed[] = [];
let timer: NodeJS.Timeout | undefined = undefined;
let armed = Infinity; // the deadline `timer` was set for
let firing = false; // fire() arms once at its end, whatever its callbacks schedule

/**
 * The clock deadlines are in: whole ms, monotonic. Whole numbers stay small
 * integers in the objects that keep them (a fraction would cost a boxed
 * number per deadline and connection).
 */
export function clock(): number {
  return Math.floor(performance.now());
}

/**
 * Have `t.ontime(now)` called once clock() >= t.at; call it again whenever
 * t.at changes (a negative one cancels). A deadline is served once: it is out
 * of the heap by the time ontime runs.
 */
export function schedule(t: Timed): void {
  if (t.slot >= 0) remove(t);
  const at = t.at;
  if (at < 0) return;
  t.slot = heap.length;
  heap.push(t);
  up(t.slot);
  if (at < armed && !firing) arm();
}

function remove(t: Timed): void {
  const i = t.slot;
  t.slot = -1;
  const last = heap.pop() as Timed;
  if (last === t) return;
  heap[i] = last;
  last.slot = i;
  up(i);
  down(last.slot);
}

function up(i: number): void {
  const t = heap[i];
  while (i > 0) {
    const p = (i - 1) >> 1;
    const q = heap[p];
    if (q.at <= t.at) break;
    heap[i] = q;
    q.slot = i;
    i = p;
  }
  heap[i] = t;
  t.slot = i;
}

function down(i: number): void {
  const n = heap.length;
  const t = heap[i];
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && heap[c + 1].at < heap[c].at) c++;
    const q = heap[c];
    if (q.at >= t.at) break;
    heap[i] = q;
    q.slot = i;
    i = c;
  }
  heap[i] = t;
  t.slot = i;
}

function arm(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  armed = Infinity;
  if (heap.length === 0) return;
  armed = heap[0].at;
  timer = setTimeout(fire, Math.max(1, Math.ceil(armed - clock())));
  timer.unref();
}

function fire(): void {
  timer = undefined;
  armed = Infinity;
  const now = clock();
  firing = true;
  try {
    while (heap.length > 0 && heap[0].at <= now) {
      const t = heap[0];
      remove(t);
      try {
        t.ontime(now);
      } catch (err) {
        // A bug in one socket's deadline must cost that socket at most, never the process.
        logger.error("websocket: a deadline's handler threw:", err);
      }
    }
  } finally {
    firing = false;
    arm();
  }
}

/** How many deadlines are scheduled (for tests). */
export function scheduled(): number {
  return heap.length;
}
