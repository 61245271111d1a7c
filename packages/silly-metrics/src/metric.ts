// What every metric shares: the collected shape that the exposition reads,
// the Collector interface, name checks, and the label set of a vector.

export type Kind = "counter" | "gauge" | "histogram";

/** One series of a counter or gauge. */
export interface Sample {
  readonly value: number;
}

/** One series of a histogram: cumulative counts per upper bound (the +Inf bucket is `count`). */
export interface HistogramSample {
  readonly buckets: readonly number[];
  readonly bucketcounts: readonly number[];
  readonly sum: number;
  readonly count: number;
}

interface Described {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*` */
  readonly name: string;
  readonly help: string;
}

/**
 * What a collector appends to the buffer: a metric without labels carries its
 * value itself; a vector carries `metrics`, its series keyed by their rendered
 * label set (`method="GET",status="200"`). The metric classes of this package
 * have these shapes; a custom collector may append plain objects.
 */
export type Metric =
  | (Described & { readonly kind: "counter" | "gauge"; readonly value: number })
  | (Described & { readonly kind: "counter" | "gauge"; readonly metrics: ReadonlyMap<string, Sample> })
  | (Described & { readonly kind: "histogram" } & HistogramSample)
  | (Described & { readonly kind: "histogram"; readonly metrics: ReadonlyMap<string, HistogramSample> });

/** Anything a registry can collect from: each metric is one, and so is a custom collector. */
export interface Collector {
  /** For identification and debugging. */
  readonly name: string;
  /** Append this collector's current metrics to `buf`. */
  collect(buf: Metric[]): void;
}

/** Label values for the label names L, in their order. */
export type LabelValues<L extends readonly string[]> = { [K in keyof L]: string | number };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function checkmetric(name: string, help: string): void {
  if (typeof name !== "string" || !METRIC_NAME.test(name)) {
    throw new TypeError(`metrics: ${JSON.stringify(name)} is not a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
  }
  if (typeof help !== "string") throw new TypeError(`metrics: help of ${name} must be a string`);
}

export function checklabels(name: string, labelnames: readonly string[], reserved?: string): void {
  if (!Array.isArray(labelnames)) throw new TypeError(`metrics: label names of ${name} must be an array`);
  const seen = new Set<string>();
  for (const l of labelnames) {
    if (typeof l !== "string" || !LABEL_NAME.test(l) || l.startsWith("__") || l === reserved) {
      throw new TypeError(`metrics: ${JSON.stringify(l)} is not a label name for ${name}`);
    }
    if (seen.has(l)) throw new TypeError(`metrics: label ${l} appears twice in ${name}`);
    seen.add(l);
  }
}

export function checkvalue(who: string, v: number): void {
  if (typeof v !== "number" || Number.isNaN(v)) throw new TypeError(`${who}: the value must be a number`);
}

/** A label value in the text format: backslash, double quote and newline escaped. */
export function escapevalue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n") : v;
}

/** `a="x",b="y"`: upstream's labels.key without its cache. */
export function labelset(names: readonly string[], values: readonly (string | number)[]): string {
  let s = "";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) s += ",";
    s += `${names[i]}="${escapevalue(String(values[i]))}"`;
  }
  return s;
}

/**
 * The metric for `name`: `single()` without label names, `vector(labelnames)`
 * with them, after the checks (`reserved`: a label name the kind keeps for itself).
 */
export function create<S, V>(
  name: string,
  help: string,
  labelnames: readonly string[] | undefined,
  single: () => S,
  vector: (labelnames: readonly string[]) => V,
  reserved?: string,
): S | V {
  checkmetric(name, help);
  if (labelnames === undefined) return single();
  checklabels(name, labelnames, reserved);
  return vector([...labelnames]);
}

/** The series of a vector, one per label set, made on first use. */
export abstract class Vec<L extends readonly string[], C> implements Collector {
  abstract readonly kind: Kind;
  /** Series keyed by their rendered label set. */
  readonly metrics = new Map<string, C>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelnames: L,
  ) {}

  /** The series for these label values (as many as label names, in their order). */
  labels(...values: LabelValues<L>): C {
    if (values.length !== this.labelnames.length) {
      throw new RangeError(`${this.name}.labels: ${this.labelnames.length} values expected, got ${values.length}`);
    }
    const key = labelset(this.labelnames, values);
    let c = this.metrics.get(key);
    if (c === undefined) {
      c = this.series();
      this.metrics.set(key, c);
    }
    return c;
  }

  collect(buf: Metric[]): void {
    buf.push(this as unknown as Metric);
  }

  /** A new series at its initial value. */
  protected abstract series(): C;
}
