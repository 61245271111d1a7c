// silly.metrics.gauge: a value that goes up and down (open connections, queue length).
import { Vec, checkvalue, create } from "./metric.js";
import type { Collector, Metric } from "./metric.js";

/** One gauge series. */
export class GaugeSeries {
  value = 0;

  set(v: number): void {
    checkvalue("gauge.set", v);
    this.value = v;
  }

  inc(): void {
    this.value++;
  }

  dec(): void {
    this.value--;
  }

  /** Add `v` (may be negative). */
  add(v: number): void {
    checkvalue("gauge.add", v);
    this.value += v;
  }

  sub(v: number): void {
    checkvalue("gauge.sub", v);
    this.value -= v;
  }
}

/** A gauge without labels. */
export class Gauge extends GaugeSeries implements Collector {
  readonly kind = "gauge" as const;

  constructor(
    readonly name: string,
    readonly help: string,
  ) {
    super();
  }

  collect(buf: Metric[]): void {
    buf.push(this);
  }
}

/** A gauge with labels: one series per label set, from labels(...). */
export class GaugeVec<L extends readonly string[] = readonly string[]> extends Vec<L, GaugeSeries> {
  readonly kind = "gauge" as const;
  protected series(): GaugeSeries {
    return new GaugeSeries();
  }
}

/** A gauge, or with label names a gauge vector. */
export function gauge(name: string, help: string, labelnames?: undefined): Gauge;
export function gauge<const L extends readonly string[]>(name: string, help: string, labelnames: L): GaugeVec<L>;
export function gauge(name: string, help: string, labelnames?: readonly string[]): Gauge | GaugeVec {
  return create(name, help, labelnames, () => new Gauge(name, help), (l) => new GaugeVec(name, help, l));
}

export default gauge;
