// The messages a socket received and the application has not read yet, in
// order, with their size in bytes (for flow control). A socket makes one only
// when a message finds no read waiting: most idle sockets never need one.
import type { MessageType } from "./codec/index.js";

export type Entry = [string | Buffer, MessageType];

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
    }
    return e;
  }
}
