// silly.metrics.prometheus: metrics registered in one process-wide registry
// (with the process and runtime collectors), its text exposition, and an HTTP
// handler that serves it.
import type { ServerStream } from "silly-net-http";
import { counter as newcounter } from "./counter.js";
import { gauge as newgauge } from "./gauge.js";
import { histogram as newhistogram } from "./histogram.js";
import type { Collector } from "./metric.js";
import { Registry } from "./registry.js";
import { CONTENT_TYPE, encode } from "./text.js";
import { ProcessCollector } from "./collector/process.js";
import { SillyCollector } from "./collector/silly.js";

export { CONTENT_TYPE };

const global = new Registry();
global.register(new SillyCollector());
global.register(new ProcessCollector());

/** `make`, with every metric it makes registered in the global registry. */
function registering<F extends (...args: never[]) => Collector>(make: F): F {
  return ((...args: Parameters<F>) => {
    const m = make(...args);
    global.register(m);
    return m;
  }) as unknown as F;
}

/** A counter (a counter vector with label names), registered in the global registry. */
export const counter = registering(newcounter);
/** A gauge (a gauge vector with label names), registered in the global registry. */
export const gauge = registering(newgauge);
/** A histogram (a histogram vector with label names), registered in the global registry. */
export const histogram = registering(newhistogram);

/** The global registry, for custom collectors and unregistering. */
export function registry(): Registry {
  return global;
}

/** The text exposition of every metric in `reg` (default: the global registry). */
export function gather(reg: Registry = global): string {
  return encode(reg.collect());
}

/**
 * An HTTP handler (for silly-net-http) that answers GET and HEAD with
 * gather(reg), and other methods with 405.
 */
export function handler(reg: Registry = global): (stream: ServerStream) => Promise<void> {
  return async (stream) => {
    if (stream.method !== "GET" && stream.method !== "HEAD") {
      await stream.respond(405, { allow: "GET, HEAD", "content-type": "text/plain" });
      await stream.close("method not allowed\n");
      return;
    }
    await stream.respond(200, { "content-type": CONTENT_TYPE });
    await stream.close(gather(reg));
  };
}

const prometheus = { counter, gauge, histogram, registry, gather, handler, CONTENT_TYPE };
export default prometheus;
