// What a Conn needs of the socket under it: the part of net.Socket's
// interface it uses, with net.Socket's meaning. net.Socket and tls.TLSSocket
// have it; so does HandleSocket (handlesocket.ts), an accepted connection on
// the bare libuv handle.

/** Called with each read's bytes on loan in `buf[0..nread)`. */
export type ReadCallback<S> = (this: S, nread: number, buf: Buffer) => void;

export interface Wire {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly writableLength: number;
  readonly writableHighWaterMark: number;
  readonly writableNeedDrain: boolean;
  on(event: "data", fn: (chunk: Buffer) => void): this;
  on(event: "end" | "drain" | "close", fn: () => void): this;
  on(event: "error", fn: (err: Error) => void): this;
  once(event: "close", fn: () => void): this;
  pause(): this;
  resume(): this;
  write(buf: Buffer): boolean;
  cork(): void;
  uncork(): void;
  end(): this;
  destroySoon(): void;
  destroy(err?: Error): this;
  setNoDelay(on?: boolean): this;
  ref(): this;
  unref(): this;
}
