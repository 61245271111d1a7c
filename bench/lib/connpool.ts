// Opens `count` WebSocket connections with at most `batch` handshakes pending at a
// time, bounded by a deadline, and routes each connection's events afterwards.
import { FrameReader } from "./framereader.js";
import { WsConn } from "./wsclient.js";

export interface PoolHooks {
  /** A connection finished its handshake. */
  open(c: WsConn): void;
  messages(c: WsConn, n: number): void;
  /** An open connection failed later on. */
  lost(c: WsConn, why: string): void;
}

export interface PoolOptions {
  port: number;
  count: number;
  batch: number;
  timeoutMs: number;
  reader: () => FrameReader;
  readBuffer: Buffer;
  /** A Sec-WebSocket-Extensions offer every connection makes (see WsConn). */
  offer?: string;
}

export interface PoolResult {
  conns: WsConn[];
  failed: number;
  /** The first few failure reasons. */
  reasons: string[];
  secs: number;
}

export function openConnections(o: PoolOptions, hooks: PoolHooks): Promise<PoolResult> {
  const t0 = performance.now();
  const conns: WsConn[] = [];
  const reasons: string[] = [];
  let started = 0;
  let pending = 0;
  let failed = 0;
  return new Promise<PoolResult>((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve({ conns, failed, reasons, secs: (performance.now() - t0) / 1000 });
    };
    const timer = setTimeout(() => {
      const stuck = o.count - conns.length - failed;
      failed += stuck;
      if (stuck > 0) reasons.push(`${stuck} handshakes not done within ${o.timeoutMs} ms`);
      finished = true;
      resolve({ conns, failed, reasons, secs: (performance.now() - t0) / 1000 });
    }, o.timeoutMs);
    const events = {
      open(c: WsConn): void {
        pending--;
        if (finished) {
          c.close();
          return;
        }
        conns.push(c);
        hooks.open(c);
        launch();
      },
      messages(c: WsConn, n: number): void {
        hooks.messages(c, n);
      },
      failed(c: WsConn, why: string): void {
        if (c.wasOpen) {
          hooks.lost(c, why);
          return;
        }
        pending--;
        if (finished) return;
        failed++;
        if (reasons.length < 5) reasons.push(`conn ${c.id}: ${why}`);
        launch();
      },
    };
    const launch = (): void => {
      while (!finished && pending < o.batch && started < o.count) {
        pending++;
        new WsConn(started++, o.port, o.reader(), events, o.readBuffer, o.offer);
      }
      if (!finished && conns.length + failed === o.count) finish();
    };
    launch();
  });
}
