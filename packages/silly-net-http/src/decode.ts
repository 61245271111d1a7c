// Decoding a compressed response body (Content-Encoding gzip, deflate, br)
// with node:zlib, piece by piece, bounded by the body limit after decoding.
import * as zlib from "node:zlib";
import type { Transform } from "node:stream";
import { EOF } from "silly/errno";
import type { ReadResult } from "./types.js";
import { EOFRESULT } from "./results.js";

/** The value the client sends in Accept-Encoding when asked to decompress. */
export const ACCEPT = "gzip, deflate, br";

/** Can we decode this content-coding? */
export function decodable(coding: string | undefined): boolean {
  if (coding === undefined) return false;
  const c = coding.trim().toLowerCase();
  return c === "gzip" || c === "x-gzip" || c === "deflate" || c === "br";
}

export class Decoder {
  private z: Transform | undefined = undefined;
  private out: Buffer[] = [];
  private size = 0;
  private err: string | undefined = undefined;
  private total = 0;
  private ended = false;

  constructor(
    private readonly coding: string,
    private readonly limit: number,
  ) {}

  /** Make the zlib stream; "deflate" is zlib-wrapped as the RFC says, or raw as some servers send it. */
  private open(first: Buffer): Transform {
    const c = this.coding.trim().toLowerCase();
    const z = c === "br" ? zlib.createBrotliDecompress()
      : c === "deflate" ? ((first[0]! & 0x0f) === 8 ? zlib.createInflate() : zlib.createInflateRaw())
      : zlib.createGunzip();
    z.on("data", (b: Buffer) => {
      this.total += b.length;
      if (this.total > this.limit) {
        this.err ??= "http: body exceeds the size limit once decompressed";
        z.destroy();
        return;
      }
      this.out.push(b);
      this.size += b.length;
    });
    z.on("error", (e: Error) => (this.err ??= `http: cannot decompress the ${this.coding} body: ${e.message}`));
    return (this.z = z);
  }

  /** Decode `chunk` (undefined: the input has ended); resolves with what came out (maybe nothing). */
  private async push(chunk: Buffer | undefined): Promise<ReadResult> {
    if (this.err !== undefined) return [undefined, this.err];
    if (chunk === undefined && this.z === undefined) return [Buffer.alloc(0), undefined];
    const z = this.z ?? this.open(chunk!);
    await new Promise<void>((resolve) => {
      if (z.destroyed) return resolve();
      const done = (): void => {
        z.off("error", done);
        z.off("close", done);
        z.off("end", done);
        resolve();
      };
      z.on("error", done);
      z.on("close", done);
      if (chunk === undefined) {
        z.on("end", done);
        z.end();
      } else {
        z.write(chunk, () => (z as zlib.Gzip).flush(done));
      }
    });
    if (this.err !== undefined) return [undefined, this.err];
    const out = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out, this.size);
    this.out = [];
    this.size = 0;
    return [out, undefined];
  }

  /**
   * The next decoded piece: takes pieces of the encoded body from `next`
   * until some output comes, then `[undefined, errno.EOF]` after the last.
   */
  async read(next: () => Promise<ReadResult>): Promise<ReadResult> {
    if (this.ended) return EOFRESULT;
    for (;;) {
      const [p, err] = await next();
      if (p === undefined && err !== EOF) return [undefined, err];
      const out = await this.push(p);
      if (out[0] === undefined) return out;
      if (p === undefined) {
        this.ended = true;
        return out[0].length > 0 ? out : EOFRESULT;
      }
      if (out[0].length > 0) return out;
    }
  }

  /** Stop decoding (the body was abandoned). */
  close(): void {
    this.z?.destroy();
  }
}
