// Subscriptions: a connection of their own (a subscribed RESP2 connection
// takes no other commands), shared by every subscription of a client.
//
// Each subscribe() sends SUBSCRIBE for all its channels and resolves on the
// server's confirmations, so a message published after it returns is
// delivered. A channel is unsubscribed when its last subscription closes.
// After the connection drops, it is made again in the background (with the
// backoff) while any subscription is open, and every channel and pattern is
// subscribed again; messages published in between are lost (Redis pub/sub
// keeps nothing for absent subscribers).
import type { Conn } from "silly/net/tcp";
import logger from "silly/logger";
import channel from "silly-sync-channel";
import type { Channel } from "silly-sync-channel";
import { CLOSED, Link } from "./link.js";
import type { Settings } from "./link.js";
import { MORE, encode } from "./resp.js";
import type { Decoder, Reply } from "./resp.js";
import { RedisError } from "./error.js";

export type SubscribeResult = [Subscription, undefined] | [undefined, RedisError];
export type MessageResult = [Message, undefined] | [undefined, RedisError];

/** One published message. */
export class Message {
  private text: string | undefined = undefined;
  constructor(
    /** The channel it was published to. */
    readonly channel: string,
    /** The payload, byte for byte. */
    readonly bytes: Buffer,
    /** The pattern that matched, for psubscribe; undefined for subscribe. */
    readonly pattern: string | undefined,
  ) {}
  /** The payload as UTF-8 text. */
  get data(): string {
    return (this.text ??= this.bytes.toString());
  }
}

interface Waiter {
  left: number; // confirmations still to come
  done: (err: RedisError | undefined) => void;
}

export class Subscription implements AsyncIterable<Message> {
  /** @internal */ readonly queue: Channel<Message> = channel.new<Message>();
  constructor(
    private readonly link: PubSubLink,
    /** Patterns (psubscribe) rather than channels. */
    readonly pattern: boolean,
    /** The channels, or patterns, subscribed to. */
    readonly names: readonly string[],
  ) {}

  /** The next message, waiting for one. After close(): the queued ones, then [undefined, err "closed"]. */
  read(): Promise<MessageResult> {
    return this.queue.recv() as Promise<MessageResult>;
  }

  /** Unsubscribe. A read waiting now returns [undefined, err] with kind "closed". */
  close(): void {
    this.link.drop(this, CLOSED_SUB);
  }

  get isclosed(): boolean {
    return this.queue.isclosed;
  }

  /** `for await (const msg of sub)` reads until the subscription is closed. */
  async *[Symbol.asyncIterator](): AsyncIterator<Message> {
    for (;;) {
      const [msg] = await this.read();
      if (msg === undefined) return;
      yield msg;
    }
  }
}

const CLOSED_SUB = new RedisError("closed", "the subscription is closed");

export class PubSubLink extends Link {
  private readonly channels = new Map<string, Set<Subscription>>();
  private readonly patterns = new Map<string, Set<Subscription>>();
  private waiters: Waiter[] = []; // oldest first (a few at most: subscribing is rare)
  private restoring = false;

  constructor(o: Settings) {
    super(o);
  }

  /** (The names are checked by the caller: this never throws.) */
  async subscribe(pattern: boolean, names: string[]): Promise<SubscribeResult> {
    if (this.o.closed) return [undefined, CLOSED];
    const sub = new Subscription(this, pattern, [...names]);
    const table = pattern ? this.patterns : this.channels;
    for (const n of sub.names) {
      let set = table.get(n);
      if (set === undefined) table.set(n, (set = new Set()));
      set.add(sub);
    }
    let err: RedisError | undefined;
    for (;;) {
      err = await this.open();
      if (err !== undefined) break;
      if (this.conn === undefined) continue; // lost again before we got to it
      err = await this.confirm(this.conn, pattern ? "PSUBSCRIBE" : "SUBSCRIBE", sub.names);
      break;
    }
    if (err !== undefined) {
      this.drop(sub, err);
      return [undefined, err];
    }
    return [sub, undefined];
  }

  /** End `sub` with `err`; unsubscribe the names no other subscription holds. */
  drop(sub: Subscription, err: RedisError): void {
    if (sub.queue.isclosed) return;
    sub.queue.close(err);
    const table = sub.pattern ? this.patterns : this.channels;
    const gone: string[] = [];
    for (const n of sub.names) {
      const set = table.get(n);
      if (set === undefined || !set.delete(sub) || set.size > 0) continue;
      table.delete(n);
      gone.push(n);
    }
    if (gone.length > 0 && this.conn !== undefined) void this.conn.write(encode(gone, sub.pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE"));
  }

  /** Send `cmd names...`; resolves on its confirmations (one per name). */
  private confirm(conn: Conn, cmd: string, names: readonly string[]): Promise<RedisError | undefined> {
    void conn.write(encode(names, cmd));
    return new Promise((done) => {
      const w: Waiter = { left: names.length, done };
      this.waiters.push(w);
      const t = this.o.timeout;
      if (t === undefined) return;
      const timer = setTimeout(() => {
        if (w.left <= 0 || this.conn !== conn) return;
        this.reset(conn, new RedisError("timeout", `no confirmation of ${cmd} within ${t} ms (the connection was reset)`));
      }, t);
      w.done = (err) => {
        clearTimeout(timer);
        done(err);
      };
    });
  }

  protected dispatch(dec: Decoder): RedisError | undefined {
    for (;;) {
      dec.bulks = "payload";
      const r = dec.next();
      if (r === MORE) return undefined;
      if (dec.broken !== undefined) return dec.broken;
      if (r instanceof RedisError && r.kind === "toolarge") {
        logger.warn("redis: a message over maxreply was dropped");
        continue;
      }
      if (r instanceof RedisError) {
        // An error reply answers the oldest (p)subscribe as a whole.
        const w = this.waiters.shift();
        if (w === undefined) logger.error("redis: subscription connection:", r.toString());
        else {
          w.left = 0;
          w.done(r);
        }
        continue;
      }
      if (!Array.isArray(r) || r.length < 3) continue; // nothing we asked for (a +OK, say)
      const kind = r[0];
      if (kind === "message") this.deliver(this.channels, r[1], r[2], undefined);
      else if (kind === "pmessage" && r.length === 4) this.deliver(this.patterns, r[2], r[3], r[1]);
      else if (kind === "subscribe" || kind === "psubscribe") {
        const w = this.waiters[0];
        if (w !== undefined && --w.left === 0) {
          this.waiters.shift();
          w.done(undefined);
        }
      }
    }
  }

  private deliver(table: Map<string, Set<Subscription>>, name: Reply, data: Reply, pattern: Reply | undefined): void {
    if (typeof name !== "string" || !Buffer.isBuffer(data) || (pattern !== undefined && typeof pattern !== "string")) return;
    const subs = table.get(pattern ?? name);
    if (subs === undefined) return;
    const msg = new Message(name, data, pattern);
    for (const sub of subs) {
      if (sub.queue.size >= this.o.maxqueue) {
        this.drop(sub, new RedisError("overflow", `more than ${this.o.maxqueue} unread messages (the maxqueue option)`));
      } else sub.queue.send(msg);
    }
  }

  protected onlost(err: RedisError): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      w.left = 0;
      w.done(err);
    }
    if (err !== CLOSED) void this.restore();
  }

  /** Every subscription ends with "closed". */
  override shut(): void {
    for (const table of [this.channels, this.patterns]) {
      for (const set of [...table.values()]) for (const sub of [...set]) this.drop(sub, CLOSED);
    }
    super.shut();
  }

  protected onready(conn: Conn): void {
    // Subscribe again to everything held, before any new subscribe goes out.
    for (const [table, cmd] of [[this.channels, "SUBSCRIBE"], [this.patterns, "PSUBSCRIBE"]] as const) {
      if (table.size === 0) continue;
      void this.confirm(conn, cmd, [...table.keys()]).then((err) => {
        if (err !== undefined && err.kind === "reply") logger.error(`redis: ${cmd} again after reconnecting:`, err.toString());
      });
    }
  }

  /** Reconnect in the background while any subscription is open. */
  private async restore(): Promise<void> {
    if (this.restoring) return;
    this.restoring = true;
    while (!this.o.closed && this.conn === undefined && (this.channels.size > 0 || this.patterns.size > 0)) {
      await this.open();
    }
    this.restoring = false;
  }
}
