// Incremental HTTP/1.1 response reader for a keep-alive load generator: finds each
// head, requires status 200 and a Content-Length, skips the body by count and
// compares the body of a sample of responses with the expected one.

const MAX_HEAD = 16 * 1024;

export class HttpResponseReader {
  error: string | undefined = undefined;
  verified = 0;
  private head = "";
  private bodyLeft = -1; // -1: reading a head
  private count = 0;
  private sampling = false;
  private readonly sample: Buffer;
  private samplePos = 0;

  constructor(
    private readonly expected: Buffer,
    private readonly verifyEvery: number,
  ) {
    this.sample = Buffer.alloc(expected.length);
  }

  /** Consumes `len` bytes of `b` from `off`; returns the number of complete responses. */
  feed(b: Buffer, off: number, len: number): number {
    let i = off;
    const end = off + len;
    let done = 0;
    while (i < end && this.error === undefined) {
      if (this.bodyLeft < 0) {
        const prev = this.head.length;
        this.head += b.toString("latin1", i, end);
        const at = this.head.indexOf("\r\n\r\n");
        if (at < 0) {
          if (this.head.length > MAX_HEAD) this.error = "response head too large";
          return done;
        }
        i += at + 4 - prev;
        this.bodyLeft = this.parseHead(this.head.slice(0, at));
        this.head = "";
        this.sampling = this.count % this.verifyEvery === 0;
        this.samplePos = 0;
        if (this.error !== undefined) return done;
      }
      const take = Math.min(this.bodyLeft, end - i);
      if (this.sampling && take > 0) {
        b.copy(this.sample, this.samplePos, i, i + take);
        this.samplePos += take;
      }
      i += take;
      this.bodyLeft -= take;
      if (this.bodyLeft === 0) {
        this.bodyLeft = -1;
        if (this.sampling) {
          if (!this.sample.equals(this.expected)) {
            this.error = `body differs from ${JSON.stringify(this.expected.toString())}`;
            return done;
          }
          this.verified++;
        }
        this.count++;
        done++;
      }
    }
    return done;
  }

  private parseHead(head: string): number {
    const lines = head.split("\r\n");
    if (!/^HTTP\/1\.1 200\b/.test(lines[0] ?? "")) {
      this.error = `status: ${(lines[0] ?? "").slice(0, 80)}`;
      return 0;
    }
    let length = -1;
    for (let k = 1; k < lines.length; k++) {
      const line = lines[k]!;
      const colon = line.indexOf(":");
      if (colon < 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim().toLowerCase();
      if (name === "content-length") length = Number(value);
      else if (name === "connection" && value === "close") this.error = "server closes the connection (Connection: close)";
      else if (name === "transfer-encoding") this.error = `unsupported Transfer-Encoding: ${value} (send Content-Length)`;
    }
    if (this.error === undefined && !(Number.isInteger(length) && length >= 0)) this.error = "no Content-Length";
    if (this.error === undefined && length !== this.expected.length) {
      this.error = `Content-Length ${length}, expected ${this.expected.length}`;
    }
    return length;
  }
}
