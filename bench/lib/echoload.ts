// Echo load: every connection keeps `pipeline` pre-built messages in flight; each
// echo that comes back is answered with the same number of new frames in one write.
// With `deflate`, permessage-deflate is offered (and must be agreed), the messages
// are a cycle of distinct JSON texts compressed ahead of time, and every echo is
// inflated (deflateload.ts).
import { openConnections } from "./connpool.js";
import { FrameReader } from "./framereader.js";
import { Histogram } from "./histogram.js";
import { measureWindow } from "./procstat.js";
import { round, sleep } from "./stats.js";
import type { WsConn } from "./wsclient.js";
import { OP_BINARY, OP_TEXT, frameRun, makePayload, maskedFrame } from "./wsproto.js";
import { OFFER, Script, jsoncycle } from "./deflateload.js";
import { randomBytes } from "node:crypto";

export interface EchoOptions {
  port: number;
  conns: number;
  pipeline: number;
  size: number;
  text: boolean;
  secs: number;
  warmup: number;
  /** Server pid for its CPU share, 0 for none. */
  pid: number;
  batch: number;
  hsTimeoutMs: number;
  verifyEvery: number;
  /** Speak permessage-deflate (text only). */
  deflate: boolean;
}

export interface EchoResult {
  mode: "echo";
  ok: boolean;
  conns: number;
  conns_failed: number;
  pipeline: number;
  size: number;
  type: "text" | "binary";
  secs: number;
  msgs: number;
  msgs_per_s: number;
  mb_per_s: number;
  p50_us: number;
  p99_us: number;
  /** Generator CPU time / wall time over the measured window (1 = one core saturated). */
  cpu: number;
  /** The same for the server process, -1 when unknown. */
  server_cpu: number;
  /** CPU used by every other process on the machine, in cores (noise indicator), -1 when unknown. */
  other_cpu: number;
  verified: number;
  /** Bytes received per echo during the measured window (with deflate: what compression left). */
  rx_bytes_per_msg: number;
  undrained: number;
  errors: number;
  reasons: string[];
}

const DRAIN_MS = 2000;

export async function runEcho(o: EchoOptions): Promise<EchoResult> {
  const P = o.pipeline;
  const op = o.text ? OP_TEXT : OP_BINARY;
  if (o.deflate && !o.text) throw new Error("--deflate needs text messages");
  const payload = makePayload(o.size, o.text);
  const mask = randomBytes(4);
  const frame = maskedFrame(op, payload, mask);
  const run = frameRun(frame, P);
  const flen = frame.length;
  const cycle = o.deflate ? jsoncycle(o.size) : undefined;
  let script: Script | undefined;
  const sent = new Float64Array(o.conns); // messages sent per connection (the place in the cycle)
  const ring = new Float64Array(o.conns * P); // send times, FIFO per connection
  const head = new Int32Array(o.conns);
  const inflight = new Int32Array(o.conns);
  const hist = new Histogram();
  const reasons: string[] = [];
  let received = 0;
  let errors = 0;
  let sending = false;
  let measuring = false;

  const send = (c: WsConn, n: number, now: number): void => {
    const id = c.id;
    const base = id * P;
    let slot = (head[id]! + inflight[id]!) % P;
    for (let k = 0; k < n; k++) {
      ring[base + slot] = now;
      slot = slot + 1 === P ? 0 : slot + 1;
    }
    inflight[id]! += n;
    if (script !== undefined) {
      script.frames(sent[id]!, n, (b) => c.write(b));
      sent[id]! += n;
    } else c.write(n === P ? run : run.subarray(0, n * flen));
  };
  const problem = (why: string): void => {
    errors++;
    if (reasons.length < 5) reasons.push(why);
  };

  const pool = await openConnections(
    {
      port: o.port,
      count: o.conns,
      batch: o.batch,
      timeoutMs: o.hsTimeoutMs,
      reader: () => new FrameReader(cycle ?? payload, op, o.verifyEvery),
      readBuffer: Buffer.allocUnsafe(256 * 1024),
      offer: o.deflate ? OFFER : undefined,
    },
    {
      open: () => {},
      messages: (c, n) => {
        const id = c.id;
        if (n > inflight[id]!) {
          problem(`conn ${id}: ${n} echoes with ${inflight[id]} in flight`);
          c.close();
          return;
        }
        const now = performance.now();
        const base = id * P;
        let h = head[id]!;
        if (measuring) {
          for (let k = 0; k < n; k++) {
            hist.record((now - ring[base + h]!) * 1000);
            h = h + 1 === P ? 0 : h + 1;
          }
        } else {
          h = (h + n) % P;
        }
        head[id] = h;
        inflight[id]! -= n;
        received += n;
        if (sending) send(c, n, now);
      },
      lost: (c, why) => {
        inflight[c.id] = 0;
        problem(`conn ${c.id}: ${why}`);
      },
    },
  );
  errors += pool.failed;
  reasons.push(...pool.reasons);
  const conns = pool.conns;
  if (cycle !== undefined && conns.length > 0) {
    const answer = conns[0]!.answer!;
    if (conns.some((c) => c.answer !== answer)) problem("the connections got different permessage-deflate answers");
    const s = await Script.make(answer, cycle, OP_TEXT, mask);
    if (typeof s === "string") problem(s);
    else script = s;
    if (P > cycle.length) problem(`pipeline ${P} over the cycle of ${cycle.length} messages`);
  }

  let windowMsgs = 0;
  let windowBytes = 0;
  let secs = 0;
  let cpu = 0;
  let serverCpu = -1;
  let otherCpu = -1;
  const rxbytes = (): number => conns.reduce((n, c) => n + c.socket.bytesRead, 0);
  if (conns.length > 0 && (cycle === undefined || script !== undefined)) {
    sending = true;
    const t = performance.now();
    for (const c of conns) send(c, P, t);
    await sleep(o.warmup * 1000);
    let r0 = 0;
    const w = await measureWindow(
      o.secs,
      o.pid,
      () => {
        hist.reset();
        measuring = true;
        r0 = received;
        windowBytes = -rxbytes();
      },
      () => {
        windowMsgs = received - r0;
        windowBytes += rxbytes();
        measuring = false;
        sending = false;
      },
    );
    ({ secs, cpu, serverCpu, otherCpu } = w);
    const deadline = performance.now() + DRAIN_MS;
    while (performance.now() < deadline && conns.some((c) => c.state === "open" && inflight[c.id]! > 0)) {
      await sleep(10);
    }
  }
  let undrained = 0;
  let verified = 0;
  for (const c of conns) {
    if (c.state === "open") undrained += inflight[c.id]!;
    verified += c.reader.verified;
    c.close();
  }
  const mps = secs > 0 ? windowMsgs / secs : 0;
  return {
    mode: "echo",
    ok: errors === 0 && conns.length === o.conns && windowMsgs > 0,
    conns: conns.length,
    conns_failed: pool.failed,
    pipeline: P,
    size: o.size,
    type: o.text ? "text" : "binary",
    secs: round(secs, 3),
    msgs: windowMsgs,
    msgs_per_s: round(mps, 1),
    mb_per_s: round((mps * o.size) / 1e6, 3),
    p50_us: hist.quantile(0.5),
    p99_us: hist.quantile(0.99),
    cpu: round(cpu, 3),
    server_cpu: round(serverCpu, 3),
    other_cpu: round(otherCpu, 3),
    verified,
    rx_bytes_per_msg: windowMsgs > 0 ? round(windowBytes / windowMsgs, 1) : 0,
    undrained,
    errors,
    reasons,
  };
}
