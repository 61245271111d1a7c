// The benchmark scenarios and their goals (ratio ours/peer).

export interface Goal {
  op: ">=" | "<=";
  value: number;
}

export interface WsEcho {
  kind: "ws";
  conns: number;
  pipeline: number;
  size: number;
  type: "text" | "binary";
  /**
   * permessage-deflate on both sides: our server with its defaults, ws with
   * the same settings (servers/ws-peer.ts), the generator offering it and
   * sending JSON texts (lib/deflateload.ts).
   */
  compression?: boolean;
}

export interface Idle {
  kind: "idle";
  conns: number;
}

export interface Hello {
  kind: "http";
  conns: number;
}

/** Sequential GETs over keep-alive: our client against the faster of node:http (keep-alive Agent) and fetch. */
export interface Client {
  kind: "client";
  requests: number;
}

export interface Scenario {
  id: string;
  label: string;
  /** What the ours/peer figures measure. */
  unit: string;
  goal: Goal;
  load: WsEcho | Idle | Hello | Client;
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: "ws32",
    label: "ws echo 32 B text, 50 conns x 1",
    unit: "msgs/s",
    goal: { op: ">=", value: 1.25 },
    load: { kind: "ws", conns: 50, pipeline: 1, size: 32, type: "text" },
  },
  {
    id: "ws32x16",
    label: "ws echo 32 B text, 50 conns x 16",
    unit: "msgs/s",
    goal: { op: ">=", value: 8 },
    load: { kind: "ws", conns: 50, pipeline: 16, size: 32, type: "text" },
  },
  {
    id: "ws16k",
    label: "ws echo 16 KiB binary, 10 conns x 4",
    unit: "msgs/s",
    goal: { op: ">=", value: 4 },
    load: { kind: "ws", conns: 10, pipeline: 4, size: 16 * 1024, type: "binary" },
  },
  {
    id: "ws1m",
    label: "ws echo 1 MiB binary, 4 conns x 1",
    unit: "msgs/s",
    goal: { op: ">=", value: 3 },
    load: { kind: "ws", conns: 4, pipeline: 1, size: 1024 * 1024, type: "binary" },
  },
  {
    id: "wsz16k",
    label: "ws echo 16 KiB JSON text, permessage-deflate, 10 conns x 4",
    unit: "msgs/s",
    goal: { op: ">=", value: 2 },
    load: { kind: "ws", conns: 10, pipeline: 4, size: 16 * 1024, type: "text", compression: true },
  },
  {
    id: "wsz256",
    label: "ws echo 256 B JSON text, permessage-deflate, 50 conns x 16",
    unit: "msgs/s",
    goal: { op: ">=", value: 2 },
    load: { kind: "ws", conns: 50, pipeline: 16, size: 256, type: "text", compression: true },
  },
  {
    id: "idle",
    label: "ws idle memory, 5,000 conns",
    unit: "KB RSS/conn",
    goal: { op: "<=", value: 0.8 },
    load: { kind: "idle", conns: 5000 },
  },
  {
    id: "http",
    label: "HTTP hello, 50 conns keep-alive",
    unit: "req/s",
    goal: { op: ">=", value: 1.2 },
    load: { kind: "http", conns: 50 },
  },
  {
    id: "client",
    label: "HTTP client, 20,000 sequential GETs, keep-alive (peer: faster of node:http Agent, fetch)",
    unit: "req/s",
    goal: { op: ">=", value: 1.5 },
    load: { kind: "client", requests: 20_000 },
  },
];

/** The in-process micro-benchmarks (bench/channel.ts), report only. */
export const MICRO_ID = "micro";
export const MICRO_ALIASES: readonly string[] = ["micro", "channel", "fork"];

/** silly-store-redis vs node-redis and ioredis (bench/redis.ts), report only. */
export const REDIS_ID = "redis";

/** The chat on 2 processes + Redis vs ws + node-redis and vs itself on 1 process (bench/chat.ts). */
export const CHAT_ID = "chat";

/** 100 WebSockets over one HTTP/2 connection vs over 100 TLS connections (bench/h2ws.ts). */
export const H2WS_ID = "h2ws";

export function met(goal: Goal, ratio: number): boolean {
  return goal.op === ">=" ? ratio >= goal.value : ratio <= goal.value;
}
