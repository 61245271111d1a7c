// Accepted plain TCP connections on the bare libuv handle, without a net.Socket.
//
// An idle net.Socket costs about 1.1 KB of heap and 2.7 KB of RSS (its
// Readable and Writable states, its listeners, its buffers); the handle under
// it about 0.2 KB and 0.5 KB. A Conn needs little of the stream machinery:
// reads into one shared buffer, whole buffers written, FIN, close. This module
// drives the handle through the same calls Node's own net.Socket makes
// (readStart/readStop, writeBuffer/writev with a WriteWrap, shutdown with a
// ShutdownWrap, the stream state array), which are Node internals reached
// through process.binding. Feature detection finds them; where anything is
// missing, or with SILLY_FASTREAD=0, listeners keep Node's net.Socket path.
//
// HandleSocket offers the part of net.Socket's interface a Conn uses, with the
// same meaning (see Wire in wire.ts), so Conn has one code path for both.
import { getSystemErrorMap, getSystemErrorName } from "node:util";
import type { Server } from "node:net";
import { readbuffer } from "./fastread.js";
import type { ReadCallback, Wire } from "./wire.js";

interface Req {
  handle: Handle;
  oncomplete: (this: Req, status: number) => void;
  buffer?: unknown;
}

/** The libuv TCP handle of an accepted connection (Node's TCPWrap), as far as we use it. */
interface Handle {
  onread: (this: Handle) => void;
  readonly writeQueueSize: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
  writeBuffer(req: Req, buf: Uint8Array): number;
  writev(req: Req, chunks: Buffer[], allBuffers: boolean): number;
  shutdown(req: Req): number;
  close(cb: () => void): void;
  getpeername(out: { address?: string; port?: number }): number;
  setNoDelay(on: boolean): number;
  ref(): void;
  unref(): void;
  [kOwner]?: HandleSocket;
}

interface StreamBinding {
  WriteWrap: new () => Req;
  ShutdownWrap: new () => Req;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

type Closer = (this: HandleSocket) => void;
type OnConnection = (this: unknown, err: number, handle: Handle | undefined) => void;

const kOwner = Symbol("silly.handlesocket");
const METHODS = ["readStart", "readStop", "useUserBuffer", "writeBuffer", "writev", "shutdown", "close", "getpeername", "setNoDelay", "ref", "unref"] as const;

function probe(): StreamBinding | undefined {
  if (process.env.SILLY_FASTREAD === "0") return undefined;
  try {
    const binding = (process as { binding?: (name: string) => unknown }).binding?.("stream_wrap") as Partial<StreamBinding> | undefined;
    if (binding === undefined || typeof binding.WriteWrap !== "function" || typeof binding.ShutdownWrap !== "function") return undefined;
    if (!(binding.streamBaseState instanceof Int32Array)) return undefined;
    if (typeof binding.kReadBytesOrError !== "number" || typeof binding.kLastWriteWasAsync !== "number") return undefined;
    return binding as StreamBinding;
  } catch {
    return undefined; // no process.binding (a future Node, or a permission model)
  }
}

const binding = probe();
/** Set by libuv before every read callback and after every write call. */
const state = binding?.streamBaseState ?? new Int32Array(0);
const READ = binding?.kReadBytesOrError ?? 0;
const ASYNC = binding?.kLastWriteWasAsync ?? 0;
const UV_EOF = [...getSystemErrorMap()].find(([, [name]]) => name === "EOF")?.[0] ?? -4095;

/** Node's default highWaterMark for a socket's writable side. */
const HIGH_WATER = 16 * 1024;

// State bits (one integer: idle connections are most connections).
const READING = 1; // readStart is in effect
const PAUSED = 2; // pause() was called
const READ_DONE = 4; // EOF or an error: the handle reads no more
const ENDED = 8; // end() was called
const FINISHED = 16; // the shutdown (FIN) completed
const DESTROY_ON_FINISH = 32; // destroySoon(): close once the FIN is out
const DESTROYED = 64;
const NEED_DRAIN = 128; // a write left the queue past HIGH_WATER: 'drain' follows

function uverror(status: number, syscall: string): Error {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = "UNKNOWN";
  }
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno: status, syscall });
}

export class HandleSocket implements Wire {
  #handle: Handle;
  #bits = 0;
  #writes = 0; // write requests libuv has not completed
  #corked: Buffer[] | undefined = undefined;
  #ondata: ((this: HandleSocket, chunk: Buffer) => void) | undefined = undefined;
  #onloan: ReadCallback<HandleSocket> | undefined = undefined;
  #onend: ((this: HandleSocket) => void) | undefined = undefined;
  #onerror: ((this: HandleSocket, err: Error) => void) | undefined = undefined;
  #ondrain: ((this: HandleSocket) => void) | undefined = undefined;
  #onclose: Closer | Closer[] | undefined = undefined; // one listener (a Conn's), or a list

  constructor(handle: Handle) {
    this.#handle = handle;
    handle[kOwner] = this;
    handle.onread = HandleSocket.#onread;
    handle.useUserBuffer(readbuffer);
  }

  get remoteAddress(): string | undefined {
    const out: { address?: string; port?: number } = {};
    return this.#handle.getpeername(out) === 0 ? out.address : undefined;
  }
  get remotePort(): number | undefined {
    const out: { address?: string; port?: number } = {};
    return this.#handle.getpeername(out) === 0 ? out.port : undefined;
  }
  /** Bytes received so far (as net.Socket's). */
  get bytesRead(): number {
    return this.#handle.bytesRead;
  }
  /** Bytes handed to the kernel or queued for it so far (as net.Socket's). */
  get bytesWritten(): number {
    return this.#handle.bytesWritten;
  }
  get destroyed(): boolean {
    return (this.#bits & DESTROYED) !== 0;
  }
  get writableEnded(): boolean {
    return (this.#bits & ENDED) !== 0;
  }
  /** Bytes handed to libuv and not yet written to the kernel. */
  get writableLength(): number {
    return (this.#bits & DESTROYED) !== 0 ? 0 : this.#handle.writeQueueSize;
  }
  get writableHighWaterMark(): number {
    return HIGH_WATER;
  }
  get writableNeedDrain(): boolean {
    return (this.#bits & NEED_DRAIN) !== 0;
  }

  on(event: "data", fn: (chunk: Buffer) => void): this;
  on(event: "end" | "drain" | "close", fn: () => void): this;
  on(event: "error", fn: (err: Error) => void): this;
  on(event: string, fn: (arg: never) => void): this {
    // One listener per event (a Conn is the only one); 'close' may have more.
    if (event === "data") {
      this.#ondata = fn as (chunk: Buffer) => void;
      this.resume(); // as with net.Socket, a 'data' listener starts the flow
    } else if (event === "end") this.#onend = fn as () => void;
    else if (event === "error") this.#onerror = fn as (err: Error) => void;
    else if (event === "drain") this.#ondrain = fn as () => void;
    else if (event === "close") {
      const c = this.#onclose;
      this.#onclose = c === undefined ? (fn as Closer) : Array.isArray(c) ? [...c, fn as Closer] : [c, fn as Closer];
    } else throw new Error(`HandleSocket: no '${event}' event`);
    return this;
  }

  /** 'close' only: the socket has closed (once). */
  once(event: "close", fn: () => void): this {
    return this.on(event, fn);
  }

  /** Deliver reads as `fn(n, buf)` with `buf[0..n)` on loan (as fastread's path does) instead of 'data'. */
  lend(fn: ReadCallback<never>): void {
    this.#onloan = fn as ReadCallback<HandleSocket>;
  }

  // ---- reading ----

  static #onread(this: Handle): void {
    const s = this[kOwner];
    if (s === undefined) return;
    const n = state[READ]!;
    if (n > 0) {
      if ((s.#bits & DESTROYED) !== 0) return;
      if (s.#onloan !== undefined) s.#onloan(n, readbuffer);
      else if (s.#ondata !== undefined) {
        const chunk = Buffer.allocUnsafe(n);
        readbuffer.copy(chunk, 0, 0, n);
        s.#ondata(chunk);
      }
    } else if (n === UV_EOF) {
      s.#stopreading();
      s.#onend?.();
    } else if (n < 0) {
      s.#stopreading();
      s.destroy(uverror(n, "read"));
    }
  }

  #stopreading(): void {
    if ((this.#bits & READING) !== 0) this.#handle.readStop();
    this.#bits = (this.#bits & ~READING) | READ_DONE;
  }

  pause(): this {
    this.#bits |= PAUSED;
    if ((this.#bits & READING) !== 0) {
      this.#bits &= ~READING;
      this.#handle.readStop();
    }
    return this;
  }

  resume(): this {
    this.#bits &= ~PAUSED;
    if ((this.#bits & (READING | READ_DONE | DESTROYED)) === 0) {
      const err = this.#handle.readStart();
      if (err !== 0) this.destroy(uverror(err, "read"));
      else this.#bits |= READING;
    }
    return this;
  }

  isPaused(): boolean {
    return (this.#bits & PAUSED) !== 0;
  }

  // ---- writing ----

  cork(): void {
    this.#corked ??= [];
  }

  uncork(): void {
    const list = this.#corked;
    this.#corked = undefined;
    if (list === undefined || list.length === 0) return;
    if (list.length === 1) this.#send(list[0]!, undefined);
    else this.#send(undefined, list);
  }

  /** Queue `buf` (kept by reference until written). False once over the high-water mark, as net.Socket. */
  write(buf: Buffer): boolean {
    if (this.#corked !== undefined) this.#corked.push(buf);
    else this.#send(buf, undefined);
    return (this.#bits & NEED_DRAIN) === 0;
  }

  #send(buf: Buffer | undefined, list: Buffer[] | undefined): void {
    if ((this.#bits & (DESTROYED | ENDED)) !== 0) return;
    const req = new binding!.WriteWrap();
    req.handle = this.#handle;
    req.oncomplete = HandleSocket.#written;
    const err = list !== undefined ? this.#handle.writev(req, list, true) : this.#handle.writeBuffer(req, buf!);
    if (err !== 0) {
      this.destroy(uverror(err, "write"));
      return;
    }
    if (state[ASYNC] === 0) return; // all of it went to the kernel already
    req.buffer = list ?? buf; // the bytes must live until libuv is done with them
    this.#writes++;
    if (this.#handle.writeQueueSize >= HIGH_WATER) this.#bits |= NEED_DRAIN;
  }

  static #written(this: Req, status: number): void {
    const s = this.handle[kOwner];
    this.buffer = undefined;
    if (s === undefined || (s.#bits & DESTROYED) !== 0) return;
    s.#writes--;
    if (status < 0) s.destroy(uverror(status, "write"));
    else if (s.#writes === 0 && (s.#bits & NEED_DRAIN) !== 0) {
      s.#bits &= ~NEED_DRAIN;
      s.#ondrain?.();
    }
  }

  /** Send FIN once the queued writes are out (libuv orders the shutdown after them). */
  end(): this {
    if ((this.#bits & (ENDED | DESTROYED)) !== 0) return this;
    this.uncork();
    this.#bits |= ENDED;
    const req = new binding!.ShutdownWrap();
    req.handle = this.#handle;
    req.oncomplete = HandleSocket.#shut;
    const err = this.#handle.shutdown(req);
    if (err !== 0) this.destroy(); // not connected any more: nothing left to say
    return this;
  }

  static #shut(this: Req, status: number): void {
    const s = this.handle[kOwner];
    if (s === undefined || (s.#bits & DESTROYED) !== 0) return;
    s.#bits |= FINISHED;
    if ((s.#bits & DESTROY_ON_FINISH) !== 0 || status < 0) s.destroy();
  }

  /** end(), then close once the FIN has gone out. */
  destroySoon(): void {
    this.end();
    if ((this.#bits & FINISHED) !== 0) this.destroy();
    else this.#bits |= DESTROY_ON_FINISH;
  }

  /** Close the handle now; 'error' (when given one), then 'close', follow from the event loop. */
  destroy(err?: Error): this {
    if ((this.#bits & DESTROYED) !== 0) return this;
    this.#bits = (this.#bits | DESTROYED) & ~(READING | NEED_DRAIN);
    this.#corked = undefined;
    this.#handle.close(() => {
      if (err !== undefined) this.#onerror?.(err);
      const c = this.#onclose;
      this.#onclose = undefined;
      if (typeof c === "function") c.call(this);
      else if (c !== undefined) for (const fn of c) fn.call(this);
    });
    return this;
  }

  setNoDelay(on = true): this {
    this.#handle.setNoDelay(on);
    return this;
  }

  ref(): this {
    this.#handle.ref();
    return this;
  }

  unref(): this {
    this.#handle.unref();
    return this;
  }
}

/** The handle class found to have every method we use (all accepted handles share it). */
let verified: unknown = null;

function usable(handle: Handle): boolean {
  const proto: unknown = Object.getPrototypeOf(handle);
  if (proto === verified) return true;
  if (!METHODS.every((m) => typeof handle[m] === "function")) return false;
  verified = proto;
  return true;
}

/**
 * Take `server`'s accepted connections as HandleSockets, given to `accept`,
 * instead of as net.Sockets. Call once it listens. A handle that lacks a
 * method we use goes Node's way (a 'connection' event) instead; where this
 * Node does not offer the path, nothing changes.
 */
export function takehandles(server: Server, accept: (socket: HandleSocket) => void): void {
  if (binding === undefined) return;
  const listening = (server as unknown as { _handle?: { onconnection?: unknown } | null })._handle;
  if (listening == null || typeof listening.onconnection !== "function") return;
  const nodeway = listening.onconnection as OnConnection;
  listening.onconnection = function onconnection(this: unknown, err: number, handle: Handle | undefined): void {
    if (err !== 0 || handle === undefined || !usable(handle)) {
      nodeway.call(this, err, handle);
      return;
    }
    accept(new HandleSocket(handle));
  };
}
