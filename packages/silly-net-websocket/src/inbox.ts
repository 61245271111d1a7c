// The messages a socket received and the application has not read yet, in
// order, with their size in bytes (for flow control). A socket makes one only
// when a message finds no read waiting: most idle sockets never need one.
// The array is released when the queue drains; a queue that never drains (a
// reader that stays behind) compacts once the slots already read are at least
// COMPACT_MIN and half the array, so its storage follows what it holds.
import type { MessageType } from "./codec/index.js";

export type Entry = [string | Buffer, MessageType];

/** Read slots the queue may leave behind before it compacts. */
const COMPACT_MIN = 1024;

export class Inbox {
  /** Bytes of the queued messages' payloads. */
  bytes = 0;
  private items: Entry[] = [];
  private head = 0;

  get empty(): boolean {
    return this.head === this.items.length;
  }

  push(e: Entry): void {
    this.items.push(e);
    this.bytes += e[0].length;
  }

  /** The oldest message; the inbox must not be empty. */
  shift(): Entry {
    const e = this.items[this.head]!;
    this.items[this.head++] = undefined as never;
    this.bytes -= e[0].length;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= COMPACT_MIN && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return e;
  }
}
