// Reading a message body off a Conn: fixed length, chunked (with trailers),
// or until the connection closes. Shared by the server (request bodies) and
// the client (response bodies).
import { EOF, TIMEDOUT } from "silly/errno";
import type { Conn } from "silly/net/tcp";
import type { Header, ReadResult, ReadAllResult } from "../types.js";
import { CHUNKED, FIXED, UNTILCLOSE } from "./parse.js";
import { parsefields } from "../fields.js";
import type { Framing } from "./parse.js";
import { MAXCHUNKLINE, parsechunksize } from "./chunked.js";
import { FAIL_IDLE, FAIL_NONE, FAIL_TIMEOUT } from "./wire.js";
import type { Wire, WireOwner } from "./wire.js";
import { EOFRESULT } from "../results.js";

const CRLF = Buffer.from("\r\n");

/** Status a server answers for a body error (0: none, the transport failed). */
export type BodyStatus = 0 | 400 | 408 | 413;

export interface BodyConf {
  /** Most body bytes accepted. */
  limit: number;
  /** Most ms a read waits for more bytes. */
  timeout: number;
  /** Trailer section bounds. */
  headerbytes: number;
  headercount: number;
}

/**
 * Take up to `max` bytes: whatever is buffered, or wait for the next arrival.
 * Two reads of one socket chunk are glued back without a copy.
 */
export async function readsome(conn: Conn, max: number, timeout: number): Promise<[Buffer, undefined] | [undefined, string, Buffer?]> {
  const n = conn.unreadbytes();
  if (n > 0) return conn.read(n < max ? n : max);
  const r = await conn.read(1, timeout);
  const first = r[0];
  if (first === undefined) return r;
  const more = conn.unreadbytes();
  if (more === 0 || max === 1) return r;
  const [rest] = await conn.read(more < max - 1 ? more : max - 1);
  if (rest === undefined) return r;
  if (rest.buffer === first.buffer && first.byteOffset + first.length === rest.byteOffset) {
    return [Buffer.from(first.buffer, first.byteOffset, first.length + rest.length), undefined];
  }
  return [Buffer.concat([first, rest]), undefined];
}

export class BodyReader {
  /** Trailer fields of a chunked body, once it has been read to the end. */
  trailer: Header | undefined = undefined;
  /** Set when the body failed: the message, and what a server should answer. */
  err: string | undefined = undefined;
  status: BodyStatus = 0;
  /** Body bytes delivered so far. */
  total = 0;
  private left: number; // FIXED: body bytes left; CHUNKED: bytes left in this chunk
  private done: boolean;
  private busy = false;

  constructor(
    private readonly conn: Conn,
    private readonly wire: Wire,
    private readonly framing: Framing,
    length: number,
    private readonly conf: BodyConf,
    private readonly owner: WireOwner | undefined,
  ) {
    this.left = framing === FIXED ? length : 0;
    this.done = framing !== FIXED && framing !== CHUNKED && framing !== UNTILCLOSE;
  }

  /** The whole body has been read (or there was none). */
  get finished(): boolean {
    return this.done && this.err === undefined;
  }

  /** Next piece of the body; `[undefined, errno.EOF]` once it has ended. */
  async read(): Promise<ReadResult> {
    if (this.err !== undefined) return [undefined, this.err];
    if (this.done) return EOFRESULT;
    if (this.busy) return [undefined, "http: another body read is pending"];
    this.busy = true;
    try {
      return await this.next();
    } finally {
      this.busy = false;
    }
  }

  /** The rest of the body in one Buffer. */
  async readall(): Promise<ReadAllResult> {
    if (this.err !== undefined) return [undefined, this.err];
    if (this.busy) return [undefined, "http: another body read is pending"];
    if (this.done) return [Buffer.alloc(0), undefined];
    this.busy = true;
    try {
      if (this.framing === FIXED) return await this.readfixed();
      const parts: Buffer[] = [];
      let size = 0;
      for (;;) {
        const [piece, err] = await this.next();
        if (piece === undefined) {
          if (err === EOF && this.err === undefined) break;
          return [undefined, err];
        }
        parts.push(piece);
        size += piece.length;
      }
      return [parts.length === 1 ? parts[0]! : Buffer.concat(parts, size), undefined];
    } finally {
      this.busy = false;
    }
  }

  /**
   * Read and drop the rest of the body if it is at most `max` bytes more
   * (so the connection can serve the next request). false if it is not.
   */
  async skip(max: number): Promise<boolean> {
    if (this.err !== undefined || this.busy) return false;
    if (this.done) return true;
    if (this.framing === FIXED && this.left > max) return false;
    const stop = this.total + max;
    this.busy = true;
    try {
      while (!this.done) {
        const [piece] = await this.next();
        if (piece === undefined) return this.done && this.err === undefined;
        if (this.total > stop) return false;
      }
      return true;
    } finally {
      this.busy = false;
    }
  }

  private fail(status: BodyStatus, err: string): [undefined, string] {
    this.err = err;
    this.status = status;
    this.done = true;
    return [undefined, err];
  }

  private transport(err: string): [undefined, string] {
    if (err === TIMEDOUT) return this.fail(408, "http: timed out reading the body");
    if (err === EOF) return this.fail(400, "http: connection closed before the body ended");
    return this.fail(0, `http: reading the body failed: ${err}`);
  }

  private async readfixed(): Promise<ReadAllResult> {
    const left = this.left;
    if (this.total + left > this.conf.limit) return this.fail(413, "http: body exceeds the size limit");
    if (this.conn.unreadbytes() >= left) {
      const [all] = await this.conn.read(left);
      this.left = 0;
      this.total += left;
      this.done = true;
      return [all!, undefined];
    }
    const out = Buffer.allocUnsafe(left);
    let filled = 0;
    while (filled < left) {
      const [piece, err] = await readsome(this.conn, left - filled, this.conf.timeout);
      if (piece === undefined) return this.transport(err);
      piece.copy(out, filled);
      filled += piece.length;
      this.left -= piece.length;
      this.total += piece.length;
    }
    this.done = true;
    return [out, undefined];
  }

  private async next(): Promise<ReadResult> {
    if (this.done) return this.err === undefined ? EOFRESULT : [undefined, this.err];
    const timeout = this.conf.timeout;
    if (this.framing === FIXED) {
      if (this.total + this.left > this.conf.limit) return this.fail(413, "http: body exceeds the size limit");
      const [piece, err] = await readsome(this.conn, this.left, timeout);
      if (piece === undefined) return this.transport(err);
      this.left -= piece.length;
      this.total += piece.length;
      if (this.left === 0) this.done = true;
      return [piece, undefined];
    }
    if (this.framing === UNTILCLOSE) {
      const [piece, err] = await readsome(this.conn, 1 << 20, timeout);
      if (piece === undefined) {
        if (err === EOF) {
          this.done = true;
          return EOFRESULT;
        }
        return this.transport(err);
      }
      this.total += piece.length;
      if (this.total > this.conf.limit) return this.fail(413, "http: body exceeds the size limit");
      return [piece, undefined];
    }
    // CHUNKED
    if (this.left === 0) {
      const [line, err] = await this.wire.until(CRLF, MAXCHUNKLINE, timeout, timeout, false, this.owner);
      if (line === undefined) return this.linefailed(err, "chunk size line");
      if (line.length > MAXCHUNKLINE) return this.fail(400, "http: chunk size line too long");
      const size = parsechunksize(line);
      if (typeof size === "string") return this.fail(400, `http: ${size}`);
      if (size === 0) return this.readtrailer();
      if (this.total + size > this.conf.limit) return this.fail(413, "http: body exceeds the size limit");
      this.left = size;
    }
    const [piece, err] = await readsome(this.conn, this.left, timeout);
    if (piece === undefined) return this.transport(err);
    this.left -= piece.length;
    this.total += piece.length;
    if (this.left === 0) {
      const [crlf, cerr] = await this.conn.read(2, timeout);
      if (crlf === undefined) return this.transport(cerr);
      if (crlf[0] !== 13 || crlf[1] !== 10) return this.fail(400, "http: chunk data not followed by CRLF");
    }
    return [piece, undefined];
  }

  private linefailed(err: string, what: string): [undefined, string] {
    const f = this.wire.fail;
    if (f === FAIL_TIMEOUT || f === FAIL_IDLE) return this.fail(408, `http: timed out reading the ${what}`);
    if (f !== FAIL_NONE) return this.fail(400, `http: ${what} too long`);
    return this.transport(err);
  }

  /** After the last chunk: trailer lines up to the empty line. */
  private async readtrailer(): Promise<ReadResult> {
    const lines: Buffer[] = [];
    let size = 0;
    const timeout = this.conf.timeout;
    for (;;) {
      const budget = this.conf.headerbytes - size;
      const [line, err] = await this.wire.until(CRLF, budget, timeout, timeout, false, this.owner);
      if (line === undefined) return this.linefailed(err, "trailer section");
      if (line.length > budget) return this.fail(400, "http: trailer section too large");
      lines.push(line);
      size += line.length;
      if (line.length === 2) break;
    }
    const trailer = parsefields(lines.length === 1 ? lines[0]! : Buffer.concat(lines, size), 0, this.conf.headercount);
    if (typeof trailer === "string") return this.fail(400, `http: bad trailer: ${trailer}`);
    this.trailer = trailer;
    this.done = true;
    return EOFRESULT;
  }
}
