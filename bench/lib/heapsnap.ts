// What a V8 heap snapshot (node:v8 writeHeapSnapshot) holds, by kind of
// object: count and self size per (node type, constructor or function name).
// Two of them, taken with N and N+k of something open, tell what each one
// costs by kind (bench/h2ws.ts --breakdown).
import { readFileSync } from "node:fs";

export interface Kind {
  count: number;
  bytes: number;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Count and self size per "type name" (e.g. "object ReadableState", "closure onread", "array (internal array)"). */
export function kinds(file: string): Map<string, Kind> {
  const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const stride = fields.length;
  const [ti, ni, si] = [fields.indexOf("type"), fields.indexOf("name"), fields.indexOf("self_size")];
  const out = new Map<string, Kind>();
  for (let i = 0; i < s.nodes.length; i += stride) {
    const type = types[s.nodes[i + ti]!]!;
    let name = s.strings[s.nodes[i + ni]!]!;
    // Strings and numbers are named by their value: fold them into one kind each.
    if (type === "string" || type === "concatenated string" || type === "sliced string" || type === "number") name = "";
    if (name.length > 60) name = name.slice(0, 60) + "…";
    const key = `${type} ${name}`.trim();
    const k = out.get(key) ?? { count: 0, bytes: 0 };
    k.count++;
    k.bytes += s.nodes[i + si]!;
    out.set(key, k);
  }
  return out;
}

/** Per one of `n` more things: the kinds that grew between two snapshots, largest first. */
export function perone(before: Map<string, Kind>, after: Map<string, Kind>, n: number): [string, Kind][] {
  const rows: [string, Kind][] = [];
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, bytes: 0 };
    const d = { count: (a.count - b.count) / n, bytes: (a.bytes - b.bytes) / n };
    if (d.bytes >= 4 || d.count >= 0.5) rows.push([key, d]);
  }
  return rows.sort((x, y) => y[1].bytes - x[1].bytes);
}
