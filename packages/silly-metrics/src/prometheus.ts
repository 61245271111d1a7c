// silly.metrics.prometheus: metrics registered in one process-wide registry
// (with the process and runtime collectors), its text exposition, and an HTTP
// handler that serves it.
import type { ServerStream } from "silly-net-http";
import { counter as newcounter } from "./counter.js";
import type { Counter, CounterVec } from "./counter.js";
import { gauge as newgauge } from "./gauge.js";
import type { Gauge, GaugeVec } from "./gauge.js";
import { histogram as newhistogram } from "./histogram.js";
import type { Histogram, HistogramVec } from "./histogram.js";
import { Registry } from "./registry.js";
import { CONTENT_TYPE, encode } from "./text.js";
import { ProcessCollector } from "./collector/process.js";
import { SillyCollector } from "./collector/silly.js";

export { CONTENT_TYPE };

const global = new Registry();
global.register(new SillyCollector());
global.register(new ProcessCollector());

/** A counter (a counter vector with label names), registered in the global registry. */
export function counter(name: string, help: string, labelnames?: undefined): Counter;
export function counter<const L extends readonly string[]>(name: string, help: string, labelnames: L): CounterVec<L>;
export function counter(name: string, help: string, labelnames?: readonly string[]): Counter | CounterVec {
  const c = labelnames === undefined ? newcounter(name, help) : newcounter(name, help, labelnames);
  global.register(c);
  return c;
}

/** A gauge (a gauge vector with label names), registered in the global registry. */
export function gauge(name: string, help: string, labelnames?: undefined): Gauge;
export function gauge<const L extends readonly string[]>(name: string, help: string, labelnames: L): GaugeVec<L>;
export function gauge(name: string, help: string, labelnames?: readonly string[]): Gauge | GaugeVec {
  const g = labelnames === undefined ? newgauge(name, help) : newgauge(name, help, labelnames);
  global.register(g);
  return g;
}

/** A histogram (a histogram vector with label names), registered in the global registry. */
export function histogram(name: string, help: string, labelnames?: undefined, buckets?: readonly number[]): Histogram;
export function histogram<const L extends readonly string[]>(
  name: string,
  help: string,
  labelnames: L,
  buckets?: readonly number[],
): HistogramVec<L>;
export function histogram(
  name: string,
  help: string,
  labelnames?: readonly string[],
  buckets?: readonly number[],
): Histogram | HistogramVec {
  const h = labelnames === undefined ? newhistogram(name, help, undefined, buckets) : newhistogram(name, help, labelnames, buckets);
  global.register(h);
  return h;
}

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
