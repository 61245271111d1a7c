// The chat's wire protocols, as plain functions (no sockets), so that their
// rules are tested on their own:
//
// - between a client and a server (README.md, "The protocol"): events are JSON
//   objects with a `type`; a client that asks for the subprotocol
//   "silly-chat.v2" sends JSON commands and gets a few events of its own,
//   any other client sends plain text frames, each one a message;
// - between chat processes through Redis pub/sub: one line per publish,
//   "ORIGIN KIND PAYLOAD" (see encodeenvelope).

/** The subprotocol a client asks for to send JSON commands (Sec-WebSocket-Protocol). */
export const SUBPROTOCOL = "silly-chat.v2";
/** The longest message text, in characters as JavaScript counts them (UTF-16 code units). */
export const MAX_TEXT = 2000;
/** The longest name, in the same characters. */
export const MAX_NAME = 32;

/** What a server sends: every event is one JSON object with a `type`. */
export interface Event {
  type: "message" | "join" | "leave" | "presence" | "welcome" | "error";
  /** Who: the sender of a message, who joined or left; your own name in a welcome. */
  name?: string;
  /** A message's text, or what an error is about. */
  text?: string;
  /** presence: everyone in the room, in the order they joined. */
  online?: string[];
  /** When, in ms since 1970 (Date.now() on the server that took it in). */
  at?: number;
  /** message: true in the sender's own copy. */
  self?: boolean;
  /** join: the name this user had before (a rename is a leave and a join). */
  from?: string;
  /** leave: the name this user took (a rename is a leave and a join). */
  to?: string;
  /** welcome: MAX_TEXT. */
  maxlength?: number;
}

/** What one text frame from a client asks for. */
export type Command =
  | { type: "message"; text: string }
  | { type: "name"; name: string }
  | { type: "error"; text: string }
  | { type: "none" };

const NONE: Command = { type: "none" };

/** Control characters have no place in a name. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** A name from `?name=`: control characters removed, trimmed, cut to MAX_NAME; "" means "pick one". */
export function queryname(raw: string): string {
  return raw.replace(CONTROL, "").trim().slice(0, MAX_NAME).trim();
}

/** A name a v2 client asked for: the cleaned name, or why it is refused (never cut silently). */
export function checkname(raw: string): [string, undefined] | [undefined, string] {
  const name = raw.replace(CONTROL, "").trim();
  if (name === "") return [undefined, "a name cannot be empty"];
  if (name.length > MAX_NAME) return [undefined, `a name is at most ${MAX_NAME} characters (this one has ${name.length})`];
  return [name, undefined];
}

function toolong(n: number): string {
  return `message too long: ${n} characters, the limit is ${MAX_TEXT}`;
}

/**
 * One text frame from a client. A plain client's frame is a message (trimmed;
 * cut to MAX_TEXT, as it always was); a v2 client's frame is a JSON command:
 * {"type":"message","text":...} or {"type":"name","name":...}.
 */
export function parseframe(data: string, v2: boolean): Command {
  if (!v2) {
    const text = data.trim().slice(0, MAX_TEXT);
    return text === "" ? NONE : { type: "message", text };
  }
  let cmd: unknown;
  try {
    cmd = JSON.parse(data);
  } catch {
    return { type: "error", text: "a command must be a JSON object" };
  }
  if (typeof cmd !== "object" || cmd === null) return { type: "error", text: "a command must be a JSON object" };
  const { type, text, name } = cmd as Record<string, unknown>;
  if (type === "message" && typeof text === "string") {
    const t = text.trim();
    if (t.length > MAX_TEXT) return { type: "error", text: toolong(t.length) };
    return t === "" ? NONE : { type: "message", text: t };
  }
  if (type === "name" && typeof name === "string") {
    const [ok, why] = checkname(name);
    return ok === undefined ? { type: "error", text: why } : { type: "name", name: ok };
  }
  return { type: "error", text: `unknown command ${JSON.stringify(type)}` };
}

/** An event as the JSON text a client receives. */
export function encode(e: Event): string {
  return JSON.stringify(e);
}

// ---- between chat processes ----

/** What a publish between chat processes carries. */
export type Kind =
  | "m" // a message event, delivered as it is
  | "j" // a join event (and the joiner is added to the origin's roster)
  | "l" // a leave event (and the leaver is removed from it)
  | "r" // the origin's roster: TTL in ms, then a JSON array of [name, at]
  | "h" // hello: a process started; everyone answers with their roster
  | "b"; // bye: the origin stops, its users are gone

export interface Envelope {
  origin: string;
  kind: Kind;
  payload: string;
}

const KINDS = new Set<string>(["m", "j", "l", "r", "h", "b"]);

/** "ORIGIN KIND PAYLOAD": an origin has no space; an event's payload is its JSON text as clients get it. */
export function encodeenvelope(origin: string, kind: Kind, payload = ""): string {
  return `${origin} ${kind} ${payload}`;
}

/** The envelope in a publish, or undefined for anything else (which is ignored). */
export function decodeenvelope(s: string): Envelope | undefined {
  const sp = s.indexOf(" ");
  if (sp <= 0 || s.charCodeAt(sp + 2) !== 32 || !KINDS.has(s[sp + 1]!)) return undefined;
  return { origin: s.slice(0, sp), kind: s[sp + 1] as Kind, payload: s.slice(sp + 3) };
}

/** A user in a roster: the name and when they joined. */
export type Entry = [name: string, at: number];

/** A roster's payload: how long it stays valid, then its users. */
export function encoderoster(ttl: number, users: readonly Entry[]): string {
  return `${ttl} ${JSON.stringify(users)}`;
}

export function decoderoster(payload: string): { ttl: number; users: Entry[] } | undefined {
  const sp = payload.indexOf(" ");
  const ttl = Number(payload.slice(0, sp));
  if (sp <= 0 || !Number.isSafeInteger(ttl) || ttl <= 0) return undefined;
  let users: unknown;
  try {
    users = JSON.parse(payload.slice(sp + 1));
  } catch {
    return undefined;
  }
  if (!Array.isArray(users) || !users.every(isentry)) return undefined;
  return { ttl, users };
}

function isentry(u: unknown): u is Entry {
  return Array.isArray(u) && u.length === 2 && typeof u[0] === "string" && typeof u[1] === "number";
}

/** The name and time of a join or leave event's JSON text, or undefined. */
export function decodeuser(payload: string): Entry | undefined {
  let e: unknown;
  try {
    e = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof e !== "object" || e === null) return undefined;
  const { name, at } = e as Record<string, unknown>;
  return typeof name === "string" && typeof at === "number" ? [name, at] : undefined;
}
