// Watches the frames node:http2 sends for a GOAWAY with an error code. When
// nghttp2 meets a connection error (RFC 9113 5.4.1: say, DATA on a stream
// the peer has ended) it sends such a GOAWAY and stops reading, and the
// session never tells: its streams and its connection would wait for ever.
// Seeing the GOAWAY go out, the session is destroyed instead. Sans-I/O:
// bytes in, the error code out; only frame headers are read.

/** The HTTP/2 client's connection preface (RFC 9113 3.4), ahead of its first frame. */
export const PREFACE_LENGTH = 24;
const HEADER = 9;
const GOAWAY = 7;

export class GoawayWatch {
  private skip: number; // bytes of the current frame (or the preface) still to pass
  private head = Buffer.alloc(HEADER + 8); // a frame header, then a GOAWAY's first 8 payload bytes
  private have = 0; // bytes of `head` filled
  private want = HEADER; // bytes of `head` wanted before deciding

  /** `skip`: bytes to pass first (the client's preface). */
  constructor(skip = 0) {
    this.skip = skip;
  }

  /** Feed sent bytes; returns the error code of a GOAWAY that ends in them with one (not NO_ERROR), else 0. */
  push(chunk: Uint8Array): number {
    let at = 0;
    let code = 0;
    while (at < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      const n = Math.min(this.want - this.have, chunk.length - at);
      this.head.set(chunk.subarray(at, at + n), this.have);
      this.have += n;
      at += n;
      if (this.have < this.want) break;
      const len = this.head.readUIntBE(0, 3);
      if (this.want === HEADER && this.head[3] === GOAWAY && len >= 8) {
        this.want = HEADER + 8; // read its last-stream-id and error code too
        continue;
      }
      if (this.want > HEADER) {
        const c = this.head.readUInt32BE(HEADER + 4);
        if (c !== 0) code = c;
      }
      this.skip = len - (this.want - HEADER);
      this.have = 0;
      this.want = HEADER;
    }
    return code;
  }
}
