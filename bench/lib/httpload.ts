// Keep-alive HTTP/1.1 load: C connections, one pre-built GET in flight on each;
// every response (counted by Content-Length) is answered with the next request.
import net from "node:net";
import { Histogram } from "./histogram.js";
import { HttpResponseReader } from "./httpreader.js";
import { measureWindow } from "./procstat.js";
import { round, sleep } from "./stats.js";

export interface HttpOptions {
  port: number;
  conns: number;
  secs: number;
  warmup: number;
  pid: number;
  body: string;
  verifyEvery: number;
  connectTimeoutMs: number;
}

export interface HttpResult {
  mode: "http";
  ok: boolean;
  conns: number;
  secs: number;
  reqs: number;
  req_per_s: number;
  p50_us: number;
  p99_us: number;
  cpu: number;
  server_cpu: number;
  other_cpu: number;
  verified: number;
  errors: number;
  reasons: string[];
}

interface Conn {
  socket: net.Socket;
  reader: HttpResponseReader;
  sentAt: number;
  open: boolean;
}

export async function runHttp(o: HttpOptions): Promise<HttpResult> {
  const request = Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${o.port}\r\n\r\n`, "latin1");
  const expected = Buffer.from(o.body);
  const readBuffer = Buffer.allocUnsafe(64 * 1024);
  const hist = new Histogram();
  let measuring = false;
  const reasons: string[] = [];
  let errors = 0;
  let received = 0;
  let connected = 0;
  let sending = true;
  const conns: Conn[] = [];

  const problem = (c: Conn, why: string): void => {
    if (!c.open) return;
    c.open = false;
    c.socket.destroy();
    errors++;
    if (reasons.length < 5) reasons.push(why);
  };
  const onRead = (c: Conn, n: number): boolean => {
    const got = c.reader.feed(readBuffer, 0, n);
    if (c.reader.error !== undefined) {
      problem(c, c.reader.error);
      return false;
    }
    if (got > 1) {
      problem(c, `${got} responses to one request`);
      return false;
    }
    if (got === 1) {
      const now = performance.now();
      if (measuring) hist.record((now - c.sentAt) * 1000);
      received++;
      if (sending) {
        c.sentAt = now;
        c.socket.write(request);
      }
    }
    return true;
  };

  for (let i = 0; i < o.conns; i++) {
    const socket = net.connect({
      host: "127.0.0.1",
      port: o.port,
      noDelay: true,
      onread: { buffer: readBuffer, callback: (n: number) => onRead(c, n) },
    });
    const c: Conn = { socket, reader: new HttpResponseReader(expected, o.verifyEvery), sentAt: 0, open: true };
    c.socket.on("connect", () => {
      connected++;
      c.sentAt = performance.now();
      c.socket.write(request);
    });
    c.socket.on("error", (err: Error) => problem(c, `socket: ${err.message}`));
    c.socket.on("close", () => problem(c, "closed by server"));
    conns.push(c);
  }
  const deadline = performance.now() + o.connectTimeoutMs;
  while (connected + errors < o.conns && performance.now() < deadline) await sleep(5);

  await sleep(o.warmup * 1000);
  let r0 = 0;
  let reqs = 0;
  const { secs, cpu, serverCpu, otherCpu } = await measureWindow(
    o.secs,
    o.pid,
    () => {
      hist.reset();
      measuring = true;
      r0 = received;
    },
    () => {
      reqs = received - r0;
      measuring = false;
      sending = false;
    },
  );
  let verified = 0;
  for (const c of conns) {
    verified += c.reader.verified;
    c.open = false;
    c.socket.destroy();
  }
  return {
    mode: "http",
    ok: errors === 0 && connected === o.conns && reqs > 0,
    conns: connected,
    secs: round(secs, 3),
    reqs,
    req_per_s: round(reqs / secs, 1),
    p50_us: hist.quantile(0.5),
    p99_us: hist.quantile(0.99),
    cpu: round(cpu, 3),
    server_cpu: round(serverCpu, 3),
    other_cpu: round(otherCpu, 3),
    verified,
    errors,
    reasons,
  };
}
