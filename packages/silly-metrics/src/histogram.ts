// silly.metrics.histogram: how observed values (latencies, sizes) are distributed
// over upper bounds ("buckets"), with their sum and count.
import { Vec, checkvalue, create } from "./metric.js";
import type { Collector, HistogramSample, Metric } from "./metric.js";

/** Upstream's defaults: latencies in seconds, 5 ms to 10 s. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
]);

/** One histogram series. */
export class HistogramSeries implements HistogramSample {
  /** Cumulative: bucketcounts[i] counts the observations <= buckets[i]. */
  readonly bucketcounts: number[];
  sum = 0;
  count = 0;

  constructor(readonly buckets: readonly number[]) {
    this.bucketcounts = new Array<number>(buckets.length).fill(0);
  }

  /** Record one observation. */
  observe(v: number): void {
    checkvalue("histogram.observe", v);
    this.sum += v;
    this.count++;
    const b = this.buckets;
    for (let i = b.length - 1; i >= 0 && v <= b[i]!; i--) this.bucketcounts[i]!++;
  }
}

/** A histogram without labels. */
export class Histogram extends HistogramSeries implements Collector {
  readonly kind = "histogram" as const;

  constructor(
    readonly name: string,
    readonly help: string,
    buckets: readonly number[],
  ) {
    super(buckets);
  }

  collect(buf: Metric[]): void {
    buf.push(this);
  }
}

/** A histogram with labels: one series per label set, from labels(...). */
export class HistogramVec<L extends readonly string[] = readonly string[]> extends Vec<L, HistogramSeries> {
  readonly kind = "histogram" as const;

  constructor(
    name: string,
    help: string,
    labelnames: L,
    readonly buckets: readonly number[],
  ) {
    super(name, help, labelnames);
  }

  protected series(): HistogramSeries {
    return new HistogramSeries(this.buckets);
  }
}

/** Sorted, without duplicates; +Inf is implied. */
function checkbuckets(name: string, buckets: readonly number[] | undefined): readonly number[] {
  if (buckets === undefined) return DEFAULT_BUCKETS;
  if (!Array.isArray(buckets) || buckets.some((b) => typeof b !== "number" || !Number.isFinite(b))) {
    throw new TypeError(`metrics: buckets of ${name} must be finite numbers`);
  }
  return Object.freeze([...new Set(buckets)].sort((a, b) => a - b));
}

/** A histogram, or with label names a histogram vector. `buckets` default to DEFAULT_BUCKETS. */
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
  const b = checkbuckets(name, buckets);
  return create(name, help, labelnames, () => new Histogram(name, help, b), (l) => new HistogramVec(name, help, l, b), "le");
}

export default histogram;
