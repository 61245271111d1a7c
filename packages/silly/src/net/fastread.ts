// An optional fast read path for plain TCP sockets.
//
// Node delivers socket bytes through its Readable machinery ('data' events),
// which costs more per read than the rest of a small echo. Client sockets can
// skip it with the public `onread` option; accepted sockets cannot, but they
// carry the same internal slots. Feature detection finds those slots on a
// probe socket built with the public option; where anything differs, the
// caller keeps the public 'data' path. SILLY_FASTREAD=0 turns it off.
import { Socket } from "node:net";
import type { ReadCallback } from "./wire.js";

interface Slots {
  buffer: symbol;
  callback: symbol;
}

interface HandleWithUserBuffer {
  useUserBuffer?: (buf: Uint8Array) => void;
}

/**
 * Every read lands here: the callback gets `buf[0..nread)` on loan and must
 * copy what it keeps before it returns (the next read overwrites it).
 */
export const readbuffer = Buffer.allocUnsafe(64 * 1024);

function probe(): Slots | undefined {
  if (process.env.SILLY_FASTREAD === "0") return undefined;
  try {
    const buf = Buffer.alloc(1);
    const cb = (): void => {};
    // `onread` is public for client sockets; @types/node lists it on connect() only.
    const s = new Socket({ onread: { buffer: buf, callback: cb } } as ConstructorParameters<typeof Socket>[0]);
    let buffer: symbol | undefined;
    let callback: symbol | undefined;
    const bag = s as unknown as Record<symbol, unknown>;
    for (const sym of Object.getOwnPropertySymbols(s)) {
      if (bag[sym] === buf) buffer = sym;
      else if (bag[sym] === cb) callback = sym;
    }
    s.destroy();
    return buffer !== undefined && callback !== undefined ? { buffer, callback } : undefined;
  } catch {
    return undefined;
  }
}

const slots = probe();

/** True when this Node.js offers the fast path (and it is not disabled). */
export const fastread = slots !== undefined;

/**
 * Deliver the socket's reads to `onread` (bytes on loan in a shared buffer)
 * instead of as 'data' events through the Readable state machine. End of
 * stream and errors still arrive as 'end' / 'error' / 'close' events.
 * Returns false (and changes nothing) when the socket cannot take the fast
 * path: TLS sockets, no handle, an unknown Node.
 */
export function usefastread<S extends Socket>(socket: S, onread: ReadCallback<S>): boolean {
  if (slots === undefined || (socket as { encrypted?: boolean }).encrypted === true) return false;
  const handle = (socket as unknown as { _handle?: HandleWithUserBuffer | null })._handle;
  if (handle == null || typeof handle.useUserBuffer !== "function") return false;
  const bag = socket as unknown as Record<symbol, unknown>;
  // An accepted socket has the slots as own properties (null); anything else is not the layout we probed.
  if (bag[slots.buffer] !== null || bag[slots.callback] !== null) return false;
  bag[slots.buffer] = readbuffer;
  bag[slots.callback] = onread;
  handle.useUserBuffer(readbuffer);
  return true;
}

/**
 * Let go of Node's cached peer address (`_peername`, an object of ~88 bytes
 * with its string) once the caller has read what it keeps. Node rebuilds the
 * cache when asked again while connected. A Node-internal field, so it goes
 * with the fast path: SILLY_FASTREAD=0 keeps the cache (the public behaviour).
 */
export function releasepeername(socket: Socket): void {
  if (process.env.SILLY_FASTREAD === "0") return;
  const peer = socket as unknown as { _peername?: unknown };
  if (typeof peer._peername === "object" && peer._peername !== null) peer._peername = undefined;
}
