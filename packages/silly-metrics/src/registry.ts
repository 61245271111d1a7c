// silly.metrics.registry: the collectors to ask at each scrape, in the order
// they were registered.
import type { Collector, Metric } from "./metric.js";

export class Registry {
  private readonly collectors: Collector[] = [];

  /** Add a collector (a metric is one). Registering the same object again does nothing. */
  register(c: Collector): void {
    if (typeof c?.collect !== "function") throw new TypeError("registry.register: not a collector (no collect method)");
    if (!this.collectors.includes(c)) this.collectors.push(c);
  }

  /** Remove a collector; one that is not registered is ignored. */
  unregister(c: Collector): void {
    const i = this.collectors.indexOf(c);
    if (i >= 0) this.collectors.splice(i, 1);
  }

  /** Every registered collector's current metrics, in registration order. */
  collect(): Metric[] {
    const buf: Metric[] = [];
    for (const c of this.collectors) c.collect(buf);
    return buf;
  }
}

/** A new, empty registry. */
export function create(): Registry {
  return new Registry();
}

const registry = { new: create, create, Registry };
export { create as new };
export default registry;
