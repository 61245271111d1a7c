// silly.env: the process's configuration as flat string keys.
//
// Filled from `--key=value` command-line arguments (values stay strings, as
// upstream parses them), then from JSON files given to load() and from set().
// A file never overwrites a key that is already set: the command line wins
// over the files, and the first file over later ones. Nested objects in a
// file become dotted keys: {"server": {"port": 8080}} is "server.port".
import { readFileSync } from "node:fs";

let store: Map<string, unknown> | undefined;

/** `--key=value` arguments; anything else (a file name, `--flag`, `-x`) is not configuration. */
export function parseargs(args: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of args) {
    const m = /^--([^=]+)=(.*)$/s.exec(a);
    if (m !== null) out.set(m[1]!, m[2]!);
  }
  return out;
}

// Read on first use, so that a launcher can set process.argv before. From
// argv[1] on: it is the script's path, or already an argument under `node -e`.
function values(): Map<string, unknown> {
  store ??= parseargs(process.argv.slice(1));
  return store;
}

/** The value stored under exactly `key`, or undefined. */
export function get(key: string): unknown {
  return values().get(key);
}

/** Store `value` under exactly `key` (a dotted key stays one flat key). undefined removes the key. */
export function set(key: string, value: unknown): void {
  if (typeof key !== "string") throw new TypeError("env.set: key must be a string");
  if (value === undefined) values().delete(key);
  else values().set(key, value);
}

/**
 * Merge a JSON file whose top level is an object. Keys already set keep their
 * value. Returns undefined on success, or a message saying what went wrong.
 */
export function load(file: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    return `env.load: cannot read ${file}: ${(err as Error).message}`;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `env.load: ${file} is not valid JSON: ${(err as Error).message}`;
  }
  if (!isobject(doc)) return `env.load: ${file} must hold a JSON object at the top level`;
  merge(values(), "", doc);
  return undefined;
}

function isobject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function merge(into: Map<string, unknown>, prefix: string, obj: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix + k;
    if (isobject(v)) merge(into, key + ".", v);
    else if (v !== null && !into.has(key)) into.set(key, v); // null is "not set", like Lua's nil
  }
}

const env = { get, set, load, parseargs };
export default env;
