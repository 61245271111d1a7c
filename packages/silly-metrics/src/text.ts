// The Prometheus text exposition format, version 0.0.4: metrics in, text out.
import type { HistogramSample, Metric, Sample } from "./metric.js";

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function number(v: number): string {
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v); // NaN prints as "NaN", as the format wants
}

function escapehelp(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function braces(labels: string): string {
  return labels === "" ? "" : `{${labels}}`;
}

function histogram(name: string, labels: string, h: HistogramSample): string {
  const sep = labels === "" ? "" : ",";
  let s = "";
  for (let i = 0; i < h.buckets.length; i++) {
    s += `${name}_bucket{${labels}${sep}le="${number(h.buckets[i]!)}"} ${number(h.bucketcounts[i]!)}\n`;
  }
  s += `${name}_bucket{${labels}${sep}le="+Inf"} ${number(h.count)}\n`;
  s += `${name}_sum${braces(labels)} ${number(h.sum)}\n`;
  s += `${name}_count${braces(labels)} ${number(h.count)}\n`;
  return s;
}

/** The exposition of `metrics`: HELP (unless empty) and TYPE lines, then one line per sample. */
export function encode(metrics: readonly Metric[]): string {
  let out = "";
  for (const m of metrics) {
    if (m.help !== "") out += `# HELP ${m.name} ${escapehelp(m.help)}\n`;
    out += `# TYPE ${m.name} ${m.kind}\n`;
    if (m.kind === "histogram") {
      if ("metrics" in m) for (const [labels, h] of m.metrics) out += histogram(m.name, labels, h);
      else out += histogram(m.name, "", m);
    } else if ("metrics" in m) {
      for (const [labels, s] of m.metrics as ReadonlyMap<string, Sample>) out += `${m.name}{${labels}} ${number(s.value)}\n`;
    } else {
      out += `${m.name} ${number(m.value)}\n`;
    }
  }
  return out;
}
