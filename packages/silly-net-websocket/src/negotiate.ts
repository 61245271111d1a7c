// permessage-deflate in the opening handshake, for every way a socket is
// made (an HTTP/1.1 upgrade or connect, or another transport's handshake):
// the server reads the offers and answers; the client offers and checks the
// answer. The rules are the codec's (codec/permessagedeflate.ts).
import { acceptdeflate, compressionconfig, confirmdeflate, offerdeflate, parseextensions } from "./codec/index.js";
import type { DeflateConfig } from "./codec/index.js";
import type { Agreed, SocketOptions } from "./socket.js";

/** A server's agreement: what the socket needs, and the Sec-WebSocket-Extensions value to answer with. */
export interface Accepted extends Agreed {
  answer: string;
}

/**
 * The server's side: the agreement on the client's Sec-WebSocket-Extensions,
 * or undefined when compression is off or no offer is acceptable (the
 * handshake then goes on without it). Throws for a malformed `compression`
 * option (a programmer error).
 */
export function acceptcompression(offers: string | undefined, opts: SocketOptions | undefined): Accepted | undefined {
  const config = compressionconfig(opts?.compression, "server");
  if (config === undefined) return undefined;
  const [a] = acceptdeflate(offers, config);
  return a === undefined ? undefined : { params: a.params, config, answer: a.answer };
}

/** The client's offer: its settings and the header value, or undefined when it offers nothing. Throws like acceptcompression. */
export function offercompression(opts: SocketOptions | undefined): { config: DeflateConfig; offer: string } | undefined {
  const config = compressionconfig(opts?.compression, "client");
  return config === undefined ? undefined : { config, offer: offerdeflate(config) };
}

/**
 * The client's check of the server's Sec-WebSocket-Extensions: the
 * agreement (undefined when the server declined), or why the connection
 * must fail (RFC 6455 4.1, RFC 7692 7.1): an extension or a parameter that
 * was not offered, or a value the client cannot honour.
 */
export function confirmcompression(answer: string | undefined, offered: DeflateConfig | undefined): [Agreed | undefined, undefined] | [undefined, string] {
  if (offered === undefined) {
    const [items, err] = parseextensions(answer);
    if (items === undefined) return [undefined, err];
    if (items.length > 0) return [undefined, `server chose extension ${items[0].name}, which was not offered`];
    return [undefined, undefined];
  }
  const [params, why] = confirmdeflate(answer, offered);
  if (why !== undefined) return [undefined, why];
  return [params && { params, config: offered }, undefined];
}
