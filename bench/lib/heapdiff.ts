// What two V8 heap snapshots of one process differ by, per kind of object:
// nodes grouped by type and name (an object's constructor, "string",
// "closure", "system / PropertyArray"...), with their count and self size.
// Compiled code and V8's bookkeeping are grouped too, so a breakdown taken
// after warm-up shows what is held per connection and what is one-off.
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface Kind {
  kind: string;
  count: number;
  bytes: number;
}

/** Count and self size of every kind of node in a .heapsnapshot file. */
export function kinds(path: string): Map<string, Kind> {
  const s = JSON.parse(readFileSync(path, "utf8")) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const ftype = fields.indexOf("type");
  const fname = fields.indexOf("name");
  const fsize = fields.indexOf("self_size");
  const out = new Map<string, Kind>();
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + ftype]!]!;
    // Strings and numbers are named by their contents: one group each.
    const name = type.endsWith("string") || type === "number" ? "" : s.strings[s.nodes[i + fname]!]!;
    const kind = name === "" ? type : type === "object" ? name : `${type}: ${name}`;
    const k = out.get(kind) ?? { kind, count: 0, bytes: 0 };
    k.count++;
    k.bytes += s.nodes[i + fsize]!;
    out.set(kind, k);
  }
  return out;
}

/** after - before, per kind, divided by `per`; largest first, code and V8's own data last. */
export function diff(before: Map<string, Kind>, after: Map<string, Kind>, per: number): Kind[] {
  const rows: Kind[] = [];
  for (const [kind, a] of after) {
    const b = before.get(kind) ?? { count: 0, bytes: 0 };
    if (a.bytes !== b.bytes || a.count !== b.count) rows.push({ kind, count: (a.count - b.count) / per, bytes: (a.bytes - b.bytes) / per });
  }
  return rows.sort((x, y) => y.bytes - x.bytes);
}

/** Compiled code and V8's metadata: warm-up, not state kept per connection. */
export function oneoff(kind: string): boolean {
  return /^(code|object shape|synthetic|native|hidden: system \/ (WeakArrayList|WeakFixedArray))/.test(kind);
}
