// Idle load: open N connections, exchange one small echo on each ("touch"), let the
// server settle, then hold them and read the server's RSS before, after and at the end.
// With `deflate`, permessage-deflate is agreed and the touch is a 256-byte JSON
// text, compressed both ways, so the server holds both of its zlib contexts.
import { openConnections } from "./connpool.js";
import { FrameReader } from "./framereader.js";
import { statusKb } from "./procstat.js";
import { round, sleep } from "./stats.js";
import { OP_TEXT, makePayload, maskedFrame } from "./wsproto.js";
import { OFFER, Script, jsoncycle } from "./deflateload.js";
import { randomBytes } from "node:crypto";
import type { WsConn } from "./wsclient.js";

export interface IdleOptions {
  port: number;
  conns: number;
  pid: number;
  settle: number;
  hold: number;
  batch: number;
  hsTimeoutMs: number;
  deflate: boolean;
}

export interface IdleResult {
  mode: "idle";
  ok: boolean;
  conns_ok: number;
  conns_failed: number;
  conns_held: number;
  touched: number;
  connect_secs: number;
  rss_before_kb: number;
  rss_after_kb: number;
  rss_end_kb: number;
  hwm_end_kb: number;
  /** (RSS after settling - RSS before) / open connections. */
  per_conn_kb: number;
  per_conn_end_kb: number;
  errors: number;
  reasons: string[];
}

export async function runIdle(o: IdleOptions): Promise<IdleResult> {
  const payload = makePayload(16, true);
  const mask = randomBytes(4);
  const frame = maskedFrame(OP_TEXT, payload, mask);
  const cycle = o.deflate ? jsoncycle(256) : undefined;
  const scripts = new Map<string, Promise<Script | string>>(); // by answer
  const touch = (c: WsConn): void => {
    if (c.answer === undefined) return c.write(frame);
    let s = scripts.get(c.answer);
    if (s === undefined) scripts.set(c.answer, (s = Script.make(c.answer, cycle!, OP_TEXT, mask)));
    void s.then((sc) => {
      if (typeof sc !== "string") return sc.frames(0, 1, (b) => c.write(b));
      if (reasons.length < 5) reasons.push(sc);
      c.close();
    });
  };
  const reasons: string[] = [];
  let errors = 0;
  let touched = 0;
  let lost = 0;
  const rss0 = statusKb(o.pid, "VmRSS");
  const pool = await openConnections(
    {
      port: o.port,
      count: o.conns,
      batch: o.batch,
      timeoutMs: o.hsTimeoutMs,
      reader: () => new FrameReader(cycle ?? payload, OP_TEXT, 1),
      readBuffer: Buffer.allocUnsafe(64 * 1024),
      offer: o.deflate ? OFFER : undefined,
    },
    {
      open: touch,
      messages: (_c, n) => {
        touched += n;
      },
      lost: (c, why) => {
        lost++;
        errors++;
        if (reasons.length < 5) reasons.push(`conn ${c.id}: ${why}`);
      },
    },
  );
  errors += pool.failed;
  reasons.push(...pool.reasons);
  const open = pool.conns.length;
  const touchDeadline = performance.now() + o.hsTimeoutMs;
  while (touched + lost < open && performance.now() < touchDeadline) await sleep(10);
  if (touched + lost < open) {
    errors++;
    reasons.push(`${open - touched - lost} touch echoes missing`);
  }
  await sleep(o.settle * 1000);
  const rss1 = statusKb(o.pid, "VmRSS");
  await sleep(o.hold * 1000);
  const rss2 = statusKb(o.pid, "VmRSS");
  const hwm2 = statusKb(o.pid, "VmHWM");
  const held = pool.conns.filter((c) => c.state === "open").length;
  for (const c of pool.conns) c.close();
  const known = rss0 >= 0 && rss1 >= 0 && open > 0;
  if (rss0 < 0) reasons.push(`cannot read /proc/${o.pid}/status`);
  return {
    mode: "idle",
    ok: errors === 0 && known && held === o.conns,
    conns_ok: open,
    conns_failed: pool.failed,
    conns_held: held,
    touched,
    connect_secs: round(pool.secs, 3),
    rss_before_kb: rss0,
    rss_after_kb: rss1,
    rss_end_kb: rss2,
    hwm_end_kb: hwm2,
    per_conn_kb: known ? round((rss1 - rss0) / open, 3) : -1,
    per_conn_end_kb: known && rss2 >= 0 ? round((rss2 - rss0) / open, 3) : -1,
    errors,
    reasons,
  };
}
