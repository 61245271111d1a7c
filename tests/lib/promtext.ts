// The Prometheus text-format parser from npm (parse-prometheus-text-format),
// typed. It folds every series of a histogram with labels into one (it only
// understands histograms without labels), so parseuntyped() also offers the
// sample lines with the TYPE lines taken out: each _bucket/_sum/_count line
// then comes back as its own sample with all its labels.
import parser from "parse-prometheus-text-format";

export interface Family {
  name: string;
  help: string;
  type: "COUNTER" | "GAUGE" | "HISTOGRAM" | "SUMMARY" | "UNTYPED";
  metrics: {
    value?: string;
    labels?: Record<string, string>;
    buckets?: Record<string, string>;
    count?: string;
    sum?: string;
  }[];
}

export function parse(text: string): Family[] {
  return (parser as (t: string) => Family[])(text);
}

export function parseuntyped(text: string): Family[] {
  return parse(text.split("\n").filter((l) => !l.startsWith("# TYPE ")).join("\n"));
}

export function family(families: Family[], name: string): Family {
  const f = families.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no metric family ${name} in ${families.map((x) => x.name).join(", ")}`);
  return f;
}

/** The samples of every family called `name` (untyped lines of one metric may come in several runs). */
export function samples(families: Family[], name: string): Family["metrics"] {
  const runs = families.filter((x) => x.name === name);
  if (runs.length === 0) throw new Error(`no samples named ${name}`);
  return runs.flatMap((x) => x.metrics);
}
