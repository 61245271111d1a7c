// silly.metrics.counter: a value that only goes up (requests served, bytes sent).
import { Vec, checkvalue, create } from "./metric.js";
import type { Collector, Metric } from "./metric.js";

/** One counter series. */
export class CounterSeries {
  value = 0;

  /** Add 1. */
  inc(): void {
    this.value++;
  }

  /** Add `v` (>= 0). A negative value is a programmer error: use a gauge. */
  add(v: number): void {
    checkvalue("counter.add", v);
    if (v < 0) throw new RangeError("counter.add: a counter can only increase");
    this.value += v;
  }
}

/** A counter without labels. */
export class Counter extends CounterSeries implements Collector {
  readonly kind = "counter" as const;

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

/** A counter with labels: one series per label set, from labels(...). */
export class CounterVec<L extends readonly string[] = readonly string[]> extends Vec<L, CounterSeries> {
  readonly kind = "counter" as const;
  protected series(): CounterSeries {
    return new CounterSeries();
  }
}

/** A counter, or with label names a counter vector. */
export function counter(name: string, help: string, labelnames?: undefined): Counter;
export function counter<const L extends readonly string[]>(name: string, help: string, labelnames: L): CounterVec<L>;
export function counter(name: string, help: string, labelnames?: readonly string[]): Counter | CounterVec {
  return create(name, help, labelnames, () => new Counter(name, help), (l) => new CounterVec(name, help, l));
}

export default counter;
