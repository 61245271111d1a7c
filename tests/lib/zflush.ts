// One message through a node:zlib raw stream, the way permessage-deflate
// frames it: write, sync flush, collect the output. Rejects on a zlib error.
import zlib from "node:zlib";

export function zflush(zs: zlib.DeflateRaw | zlib.InflateRaw, input: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    const on = (d: Buffer): void => void parts.push(d);
    zs.on("data", on);
    zs.once("error", reject);
    zs.write(input);
    zs.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      zs.off("data", on);
      zs.off("error", reject);
      resolve(Buffer.concat(parts));
    });
  });
}
