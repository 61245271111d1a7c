// Result values shared by every stream: the frozen constants returned
// again and again, and gathering read() pieces into one body.
import { EOF } from "silly/errno";
import type { ReadAllResult, ReadResult, WriteResult } from "./types.js";

export const OK: WriteResult = Object.freeze([true, undefined]) as unknown as WriteResult;
export const OK_P: Promise<WriteResult> = Promise.resolve(OK);
export const EOFRESULT: ReadResult = Object.freeze([undefined, EOF]) as unknown as ReadResult;

/** Every piece `read` gives until its EOF, in one Buffer; or its first error. */
export async function collect(read: () => Promise<ReadResult>): Promise<ReadAllResult> {
  const parts: Buffer[] = [];
  let size = 0;
  for (;;) {
    const [p, err] = await read();
    if (p === undefined) {
      if (err !== EOF) return [undefined, err];
      return [parts.length === 1 ? parts[0]! : Buffer.concat(parts, size), undefined];
    }
    parts.push(p);
    size += p.length;
  }
}
