// silly.logger: leveled logging to stderr with timestamps.
//
// debug/info/warn/error take printf-style arguments (util.format: "%s", "%d",
// "%j", extra values appended with spaces, objects inspected). The *f forms
// keep upstream's contract: only "%s" and "%%" are accepted.
import { format, inspect } from "node:util";

export const DEBUG: 0 = 0;
export const INFO: 1 = 1;
export const WARN: 2 = 2;
export const ERROR: 3 = 3;
export type Level = typeof DEBUG | typeof INFO | typeof WARN | typeof ERROR;

const names: Record<string, Level> = { debug: DEBUG, info: INFO, warn: WARN, error: ERROR };
const tags = ["D", "I", "W", "E"] as const;

function levelfromenv(): Level {
  const v = process.env.SILLY_LOGLEVEL?.trim().toLowerCase();
  if (v === undefined || v === "") return INFO;
  if (v in names) return names[v]!;
  const n = Number(v);
  if (Number.isInteger(n) && n >= DEBUG && n <= ERROR) return n as Level;
  process.stderr.write(`logger: ignoring SILLY_LOGLEVEL=${JSON.stringify(v)} (want debug|info|warn|error)\n`);
  return INFO;
}

let current: Level = levelfromenv();
let sink: (line: string) => void = (line) => {
  process.stderr.write(line);
};

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

function stamp(): string {
  const d = new Date();
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

function emit(level: Level, text: string): void {
  sink(`${stamp()} ${tags[level]} ${text}\n`);
}

function plain(level: Level) {
  return (...args: unknown[]): void => {
    if (level >= current) emit(level, format(...args));
  };
}

/** Only "%s" (any value, inspected unless a string) and "%%" are allowed. */
function sformat(fmt: string, args: unknown[]): string {
  let i = 0;
  return fmt.replace(/%(.)/gs, (_m, c: string) => {
    if (c === "%") return "%";
    if (c !== "s") throw new Error(`logger: invalid option '%${c}' to 'format', only '%s' is supported`);
    const v = args[i++];
    return typeof v === "string" ? v : inspect(v, { breakLength: Infinity });
  });
}

function formatted(level: Level) {
  return (fmt: string, ...args: unknown[]): void => {
    if (typeof fmt !== "string") throw new TypeError("logger: format must be a string");
    if (level >= current) emit(level, sformat(fmt, args));
  };
}

export const debug = plain(DEBUG);
export const info = plain(INFO);
export const warn = plain(WARN);
export const error = plain(ERROR);
export const debugf = formatted(DEBUG);
export const infof = formatted(INFO);
export const warnf = formatted(WARN);
export const errorf = formatted(ERROR);

/** Set the lowest level that is printed (DEBUG, INFO, WARN or ERROR). */
export function setlevel(level: Level): void {
  if (!Number.isInteger(level) || level < DEBUG || level > ERROR) {
    throw new RangeError(`logger.setlevel: level must be DEBUG(0)..ERROR(3), got ${String(level)}`);
  }
  current = level;
}

export function getlevel(): Level {
  return current;
}

/**
 * Redirect log lines (each ends with "\n"). Returns the previous sink, so a
 * test can capture output and restore it.
 */
export function setsink(fn: (line: string) => void): (line: string) => void {
  const prev = sink;
  sink = fn;
  return prev;
}

/** Wait until everything written to stderr so far has been handed to the OS. */
export function flush(): Promise<void> {
  return new Promise((resolve) => {
    if (process.stderr.writableLength === 0) resolve();
    else process.stderr.write("", () => resolve());
  });
}

const logger = {
  DEBUG, INFO, WARN, ERROR,
  debug, info, warn, error, debugf, infof, warnf, errorf,
  setlevel, getlevel, setsink, flush,
};
export default logger;
