// silly.store.redis: a Redis client in silly style.
//
// Commands of every task share one connection and are pipelined on it:
// each call writes its command at once and waits for its reply, which comes
// back in order. Subscriptions get a second connection, opened by the first
// subscribe. Both are made on first use and made again after a loss.
//
// What a failure does (the error's kind says which it was):
// - no connection can be made: the command fails with "connect" (it was not
//   sent, so it is safe to send again); the next attempt waits out a backoff;
// - the connection drops: commands in flight fail with "lost" (they may or
//   may not have run, so they are never sent again by the client); the next
//   command reconnects;
// - no reply within `timeout` ms: the commands in flight fail with "timeout",
//   and the connection is reset so later replies cannot be taken for theirs;
// - bytes that are not RESP: "protocol", and the connection is reset;
// - a reply larger than `maxreply`: "toolarge", the connection stays.
import type { Conn } from "silly/net/tcp";
import { CLOSED, Link, hellocmd, now } from "./link.js";
import type { Settings, TlsOptions } from "./link.js";
import { encode, encodemany } from "./resp.js";
import type { Arg, Args, Bulks, Decoder, Reply } from "./resp.js";
import { MORE } from "./resp.js";
import { RedisError } from "./error.js";
import { COMMANDS, REFUSED } from "./commands.js";
import type { CommandName } from "./commands.js";
import { PubSubLink } from "./pubsub.js";
import type { SubscribeResult } from "./pubsub.js";

export type { TlsOptions };

export type Result<T extends Reply = Reply> = [T, undefined] | [undefined, RedisError];
export type PipelineResult = [Result[], undefined] | [undefined, RedisError];
export type Command = <T extends Reply = Reply>(...args: Args) => Promise<Result<T>>;

export interface Options {
  /** "host:port", or a URL "redis://[user:password@]host[:port][/db]" (its parts fill the options below); "rediss://" speaks TLS. */
  addr: string;
  /** Speak TLS: true (the system's CAs, the host's name checked), or how to check the server. Implied by "rediss://". */
  tls?: boolean | TlsOptions;
  /** The password: AUTH on every connection (upstream's name). */
  auth?: string;
  /** An ACL user name to AUTH as (Redis 6+); goes with `auth`. */
  user?: string;
  /** The database index: SELECT on every connection. Default 0. */
  db?: number;
  /** CLIENT SETNAME on every connection. */
  name?: string;
  /** The protocol: 2 (default), or 3 (HELLO 3, Redis 6+: maps, sets, doubles, booleans come typed). */
  resp?: 2 | 3;
  /** ms to wait for a reply before failing with "timeout" and resetting the connection. Default: no limit. */
  timeout?: number;
  /** ms a connection attempt (TCP and handshake) may take. Default 5000. */
  connecttimeout?: number;
  /** The longest wait, in ms, between reconnection attempts (it doubles from 50 ms). Default 2000. */
  maxbackoff?: number;
  /** The largest reply kept, in bytes; a larger one fails with "toolarge". Default 64 MiB. */
  maxreply?: number;
  /** Unread messages a subscription holds before it is closed with "overflow". Default 10,000. */
  maxqueue?: number;
}

export const DEFAULTS = {
  connecttimeout: 5000,
  maxbackoff: 2000,
  maxreply: 64 * 1024 * 1024,
  maxqueue: 10_000,
} as const;

/** A command waiting for its reply; they form a list in the order they were sent. */
interface Pending {
  resolve: (r: Result) => void;
  bulks: Bulks;
  deadline: number;
  next: Pending | undefined;
}

const CLOSED_RESULT: Result = [undefined, CLOSED];

/** The command connection: replies go to the waiting callers, oldest first. */
class CommandLink extends Link {
  private head: Pending | undefined = undefined;
  private tail: Pending | undefined = undefined;
  private timer: NodeJS.Timeout | undefined = undefined;

  /** Send the `n` commands encoded in `bytes`; resolves with their replies' results. */
  send(bytes: Buffer, n: number, bulks: Bulks): Promise<Result[]> {
    const conn = this.conn;
    if (conn !== undefined) return this.issue(conn, bytes, n, bulks);
    if (this.o.closed) return Promise.resolve(new Array<Result>(n).fill(CLOSED_RESULT));
    return this.open().then((err) => {
      if (err !== undefined) return new Array<Result>(n).fill([undefined, err]);
      return this.conn !== undefined ? this.issue(this.conn, bytes, n, bulks) : this.send(bytes, n, bulks);
    });
  }

  /** Send one command; resolves with its reply's result. */
  send1(bytes: Buffer, bulks: Bulks): Promise<Result> {
    const conn = this.conn;
    if (conn === undefined) return this.send(bytes, 1, bulks).then((rs) => rs[0]!);
    // Not awaited: writes keep their order, and a write that fails shows up
    // as the end of the conn's reads, which fails every command in flight.
    void conn.write(bytes);
    return new Promise<Result>((resolve) => this.expect(resolve, bulks));
  }

  private issue(conn: Conn, bytes: Buffer, n: number, bulks: Bulks): Promise<Result[]> {
    void conn.write(bytes);
    const results = new Array<Result>(n);
    return new Promise<Result[]>((resolve) => {
      let left = n;
      for (let i = 0; i < n; i++) {
        this.expect((r) => {
          results[i] = r;
          if (--left === 0) resolve(results);
        }, bulks);
      }
    });
  }

  private expect(resolve: (r: Result) => void, bulks: Bulks): void {
    const t = this.o.timeout;
    const p: Pending = { resolve, bulks, deadline: t === undefined ? Infinity : now() + t, next: undefined };
    if (this.tail === undefined) this.head = p;
    else this.tail.next = p;
    this.tail = p;
    if (t !== undefined && this.timer === undefined) this.arm(t);
  }

  protected dispatch(dec: Decoder): RedisError | undefined {
    for (;;) {
      const head = this.head;
      dec.bulks = head !== undefined ? head.bulks : "string";
      const r = dec.next();
      if (r === MORE) return undefined;
      if (dec.broken !== undefined) return dec.broken;
      if (dec.push) continue; // RESP3 pushes (client tracking, say) have no taker here
      if (head === undefined) return new RedisError("protocol", "the server sent a reply nobody asked for");
      this.head = head.next;
      if (this.head === undefined) this.tail = undefined;
      head.resolve(r instanceof RedisError ? [undefined, r] : [r, undefined]);
    }
  }

  protected onlost(err: RedisError): void {
    const failed: Result = [undefined, err];
    let p = this.head;
    this.head = this.tail = undefined;
    for (; p !== undefined; p = p.next) p.resolve(failed);
  }

  protected onready(): void {}

  /** One timer for all commands: their deadlines come in the order they were sent. */
  private arm(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const head = this.head;
      if (head === undefined) return;
      const left = head.deadline - now();
      if (left > 0) return this.arm(left);
      if (this.conn !== undefined) this.reset(this.conn, new RedisError("timeout", `no reply within ${this.o.timeout} ms (the connection was reset)`));
    }, ms);
  }
}

function checkms(v: unknown, what: string): void {
  if (v !== undefined && (typeof v !== "number" || !(v >= 0))) {
    throw new TypeError(`redis.new: ${what} must be a number >= 0, got ${String(v)}`);
  }
}

/** Options with a redis:// URL's parts filled in. */
function fromurl(o: Options): Options {
  if (!/^rediss?:\/\//i.test(o.addr)) return o;
  const u = new URL(o.addr);
  const secure = u.protocol === "rediss:";
  if (secure && o.tls === false) throw new TypeError("redis.new: a rediss:// URL with tls: false");
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db)) throw new TypeError(`redis.new: bad database in ${o.addr}`);
  return {
    ...o,
    addr: `${u.hostname}:${u.port === "" ? "6379" : u.port}`,
    user: o.user ?? (u.username !== "" ? decodeURIComponent(u.username) : undefined),
    auth: o.auth ?? (u.password !== "" ? decodeURIComponent(u.password) : undefined),
    db: o.db ?? db,
    tls: o.tls ?? (secure || undefined),
  };
}

function settings(opts: Options): Settings {
  if (opts === null || typeof opts !== "object" || typeof opts.addr !== "string") {
    throw new TypeError("redis.new: expects { addr: \"host:port\", ... }");
  }
  const o = fromurl(opts);
  for (const k of ["timeout", "connecttimeout", "maxbackoff"] as const) checkms(o[k], k);
  for (const k of ["maxreply", "maxqueue"] as const) {
    if (o[k] !== undefined && !(Number.isInteger(o[k]) && o[k]! > 0)) throw new TypeError(`redis.new: ${k} must be a positive integer`);
  }
  if (o.db !== undefined && !(Number.isInteger(o.db) && o.db >= 0)) throw new TypeError("redis.new: db must be an integer >= 0");
  if (o.resp !== undefined && o.resp !== 2 && o.resp !== 3) throw new TypeError("redis.new: resp must be 2 or 3");
  if (o.user !== undefined && o.auth === undefined) throw new TypeError("redis.new: user needs auth (the password)");
  if (o.tls !== undefined && typeof o.tls !== "boolean" && (o.tls === null || typeof o.tls !== "object")) {
    throw new TypeError("redis.new: tls must be a boolean or { hostname, ca, verify }");
  }
  const hello: Settings["hello"] = [];
  if (o.resp === 3) {
    const args: Arg[] = ["HELLO", "3"];
    if (o.auth !== undefined) args.push("AUTH", o.user ?? "default", o.auth);
    if (o.name !== undefined) args.push("SETNAME", o.name);
    hello.push(hellocmd(...args));
  } else {
    if (o.auth !== undefined) hello.push(o.user !== undefined ? hellocmd("AUTH", o.user, o.auth) : hellocmd("AUTH", o.auth));
    if (o.name !== undefined) hello.push(hellocmd("CLIENT", "SETNAME", o.name));
  }
  if (o.db !== undefined && o.db !== 0) hello.push(hellocmd("SELECT", o.db));
  return {
    addr: o.addr,
    tls: o.tls === true ? {} : o.tls === false ? undefined : o.tls,
    hello,
    timeout: o.timeout,
    connecttimeout: o.connecttimeout ?? DEFAULTS.connecttimeout,
    maxbackoff: o.maxbackoff ?? DEFAULTS.maxbackoff,
    maxreply: o.maxreply ?? DEFAULTS.maxreply,
    maxqueue: o.maxqueue ?? DEFAULTS.maxqueue,
    closed: false,
  };
}

function checkname(cmd: unknown, who: string): asserts cmd is string {
  if (typeof cmd !== "string" || cmd === "") throw new TypeError(`redis: ${who} needs a command name`);
  if (cmd.length >= 4 && REFUSED.has(cmd.toUpperCase())) {
    throw new TypeError(`redis: ${cmd} is not sent through ${who}: ${/SUBSCRIBE$/i.test(cmd) ? "use db.subscribe / db.psubscribe" : "give it to redis.new"}`);
  }
}

function checknames(names: unknown[], who: string): void {
  if (names.length === 0) throw new TypeError(`redis: ${who} needs at least one name`);
  for (const n of names) if (typeof n !== "string") throw new TypeError(`redis: ${who} takes strings, got ${typeof n}`);
}

export class Client {
  private readonly o: Settings;
  private readonly link: CommandLink;
  private sublink: PubSubLink | undefined = undefined;

  constructor(opts: Options) {
    this.o = settings(opts);
    this.link = new CommandLink(this.o);
  }

  /** Send any command: `db.call("SET", "k", "v")`. Bulk string replies come as strings. */
  call<T extends Reply = Reply>(cmd: string, ...args: Args): Promise<Result<T>> {
    checkname(cmd, "call");
    return this.link.send1(encode(args, cmd), "string") as Promise<Result<T>>;
  }

  /** call(), with bulk string replies as Buffers (binary values come back byte for byte). */
  callbuffer<T extends Reply = Reply>(cmd: string, ...args: Args): Promise<Result<T>> {
    checkname(cmd, "callbuffer");
    return this.link.send1(encode(args, cmd), "buffer") as Promise<Result<T>>;
  }

  /**
   * Send several commands in one write and wait for all their replies:
   * `[results]`, one Result per command (an error reply is a result too),
   * or `[undefined, err]` when the connection failed under them.
   */
  pipeline(cmds: readonly Args[]): Promise<PipelineResult> {
    if (!Array.isArray(cmds)) throw new TypeError("redis: pipeline expects an array of commands");
    for (const c of cmds) {
      if (!Array.isArray(c)) throw new TypeError("redis: each pipelined command is an array [name, ...args]");
      checkname(c[0], "pipeline");
    }
    if (cmds.length === 0) return Promise.resolve([[], undefined]);
    return this.link.send(encodemany(cmds), cmds.length, "string").then((results): PipelineResult => {
      for (const [, err] of results) if (err !== undefined && err.kind !== "reply" && err.kind !== "toolarge") return [undefined, err];
      return [results, undefined];
    });
  }

  /** Subscribe to channels; read the messages from the subscription. */
  subscribe(...channels: string[]): Promise<SubscribeResult> {
    checknames(channels, "subscribe");
    return (this.sublink ??= new PubSubLink(this.o)).subscribe(false, channels);
  }

  /** Subscribe to channel patterns ("news.*"); messages carry the pattern they matched. */
  psubscribe(...patterns: string[]): Promise<SubscribeResult> {
    checknames(patterns, "psubscribe");
    return (this.sublink ??= new PubSubLink(this.o)).subscribe(true, patterns);
  }

  /** Upstream refuses to switch databases on a live client: give `db` to redis.new. */
  select(): never {
    throw new TypeError("redis: select is not supported; give db to redis.new({ addr, db })");
  }

  /**
   * Close the connections. Commands still waiting fail with "closed", so do
   * subscriptions' reads once their queued messages are read.
   */
  close(): void {
    if (this.o.closed) return;
    this.o.closed = true;
    this.link.shut();
    this.sublink?.shut();
  }

  /** close() was called. */
  get isclosed(): boolean {
    return this.o.closed;
  }
}

// Every name in COMMANDS becomes a method: db.get("k") is db.call("GET", "k").
type Commands = { [K in CommandName]: Command };
export interface Client extends Commands {}
for (const name of COMMANDS) {
  const upper = name.toUpperCase();
  Object.defineProperty(Client.prototype, name, {
    value: function (this: Client, ...args: Args) {
      return (this as unknown as { link: CommandLink }).link.send1(encode(args, upper), "string");
    },
    writable: true,
    configurable: true,
  });
}

/** A client; nothing is connected until the first command. */
export function create(opts: Options): Client {
  return new Client(opts);
}
