// Live heap bytes after full collections, for tests that check that storage
// does not grow (gc is exposed to this process at run time).
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

export function liveheap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
