// How tcp.listen and tls.listen hand each new Conn to the application's
// accept: in a task of its own, or (marked direct) at once.
import { fork } from "../task.js";
import { logerror } from "../internal/report.js";
import type { Conn } from "./conn.js";

type Accept = (conn: Conn) => unknown;

const directs = new WeakSet<Accept>();

/** A direct accept wrapping `accept` (see protocol.direct). */
export function markdirect(accept: (conn: Conn) => void): (conn: Conn) => void {
  if (typeof accept !== "function") throw new TypeError("protocol.direct: accept must be a function");
  const f = (conn: Conn): void => accept(conn);
  directs.add(f);
  return f;
}

/**
 * What takes each new Conn: forks `accept` as a task, or calls a direct one
 * at once, outside any task. Either way a throw closes the conn it abandoned
 * (else the socket would stay open forever) and is logged; a normal return
 * leaves the conn alone, as it may live on elsewhere.
 */
export function acceptor(accept: Accept): (conn: Conn) => void {
  if (directs.has(accept)) return (conn) => acceptnow(accept, conn);
  const task = guarded(accept);
  return (conn) => {
    fork(task, conn);
  };
}

function acceptnow(accept: Accept, conn: Conn): void {
  try {
    accept(conn);
  } catch (err) {
    conn.close();
    logerror(`accept ${conn.remoteaddr} failed`, err);
  }
}

/** `accept` as a task: a throw closes the conn, then is rethrown for the task to log. */
function guarded(accept: Accept): (conn: Conn) => Promise<void> {
  return async function accepttask(conn: Conn): Promise<void> {
    try {
      await accept(conn);
    } catch (err) {
      conn.close();
      throw err;
    }
  };
}
