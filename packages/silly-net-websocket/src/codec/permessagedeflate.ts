// permessage-deflate (RFC 7692 section 7) negotiation, sans-I/O: the options,
// the client's offer, the server's choice among the offers and its answer,
// and the client's check of that answer. The compression itself is in
// ../deflate.ts; the RSV1 rules are in frame.ts.
//
// Window bits: the RFC allows 8..15. zlib cannot compress raw deflate with an
// 8-bit window and Node.js turns 8 into 9 for a compressor, as ws and other
// zlib-based peers get too; that is still within the promise, because zlib's
// compressor never reaches further back than the window size minus 262 bytes
// (250 bytes at 9 bits). So 8 is negotiated and honoured like any other value.
import { formatextension, parseextensions } from "./extension.js";
import type { ExtensionItem, ExtensionParam } from "./extension.js";
import type { Compression, CompressionOptions } from "./types.js";

export type { Compression, CompressionOptions };

export const EXTENSION = "permessage-deflate";

/** Settings after defaults, for one role. */
export type DeflateConfig = Required<CompressionOptions>;

/**
 * What the handshake agreed, in the RFC's terms (window bits are 15 where the
 * answer named none). Each endpoint compresses with its own side's values.
 */
export interface DeflateParams {
  servernocontexttakeover: boolean;
  clientnocontexttakeover: boolean;
  servermaxwindowbits: number;
  clientmaxwindowbits: number;
}

/** A server's agreement: the parameters and the Sec-WebSocket-Extensions value to answer with. */
export interface DeflateAgreement {
  params: DeflateParams;
  answer: string;
}

/** Why a compressed message was refused: the close code to send and the reason. */
export interface InflateError {
  /** 1002: not valid deflate data; 1007: not UTF-8 text; 1009: inflates past maxpayload. */
  code: 1002 | 1007 | 1009;
  reason: string;
}

/**
 * One connection's permessage-deflate as the protocol uses it: whole messages
 * in, whole messages out, synchronously, in order (../deflate.ts implements it
 * over node:zlib; the protocol needs nothing else of it).
 */
export interface MessageDeflate {
  /** Is this data message worth compressing (at least the threshold)? */
  wants(data: Uint8Array | string): boolean;
  /** The payload compressed (RSV1 goes on its first frame), or why zlib failed. */
  compress(data: Uint8Array | string): [Buffer, undefined] | [undefined, string];
  /** A received compressed message inflated (text decoded and checked), bounded by maxpayload. */
  decompress(data: Buffer, type: "text" | "binary"): [string | Buffer, undefined] | [undefined, InflateError];
  /** Release the zlib contexts (idempotent); no call may follow. */
  close(): void;
}

/**
 * Defaults per role. A server holds a compressor and an inflater per
 * connection, so it compresses with a 4 KiB window (12 bits: ~100 KiB of zlib
 * state instead of ~210 KiB at 15, for ~12% larger output on small JSON) and
 * asks clients for the same. A client offers what browsers offer
 * (`permessage-deflate; client_max_window_bits`): it asks the server for
 * nothing (a server unable to honour a limit would have to decline
 * compression altogether) and takes any window the server sets. Both keep
 * context takeover (small JSON messages shrink ~85% with it, ~25% without),
 * zlib's level 6 and memLevel 8, and leave messages under 32 bytes alone.
 */
export const COMPRESSION_DEFAULTS: { readonly server: DeflateConfig; readonly client: DeflateConfig } = Object.freeze({
  server: Object.freeze({
    servermaxwindowbits: 12,
    clientmaxwindowbits: 12,
    servernocontexttakeover: false,
    clientnocontexttakeover: false,
    threshold: 32,
    memlevel: 8,
    level: 6,
  }),
  client: Object.freeze({
    servermaxwindowbits: 15,
    clientmaxwindowbits: 15,
    servernocontexttakeover: false,
    clientnocontexttakeover: false,
    threshold: 32,
    memlevel: 8,
    level: 6,
  }),
});

const INTEGER_RANGES = {
  servermaxwindowbits: [8, 15],
  clientmaxwindowbits: [8, 15],
  memlevel: [1, 9],
  level: [0, 9],
  threshold: [0, Number.MAX_SAFE_INTEGER],
} as const;

/**
 * The settings for `role`, or undefined when compression is off. Absent
 * (`undefined`) means the role's default: on for a client (an offer costs
 * nothing until a server accepts it), off for a server (every browser offers
 * compression, and each connection that uses it holds zlib state). Throws
 * TypeError / RangeError for a malformed option: a programmer error.
 */
export function compressionconfig(opt: Compression | undefined, role: "server" | "client"): DeflateConfig | undefined {
  if (opt === undefined) opt = role === "client";
  if (opt === false) return undefined;
  const defaults = COMPRESSION_DEFAULTS[role];
  if (opt === true) return defaults;
  if (typeof opt !== "object" || opt === null) {
    throw new TypeError(`websocket: option compression must be a boolean or an object, got ${opt === null ? "null" : typeof opt}`);
  }
  const out: DeflateConfig = { ...defaults };
  for (const [k, v] of Object.entries(opt)) {
    if (v === undefined) continue;
    if (!(k in defaults)) throw new TypeError(`websocket: unknown compression option ${k}`);
    const key = k as keyof DeflateConfig;
    if (key === "servernocontexttakeover" || key === "clientnocontexttakeover") {
      if (typeof v !== "boolean") throw new TypeError(`websocket: compression option ${k} must be a boolean`);
      out[key] = v;
    } else {
      const [lo, hi] = INTEGER_RANGES[key];
      if (!Number.isSafeInteger(v) || (v as number) < lo || (v as number) > hi) {
        throw new RangeError(`websocket: compression option ${k} must be an integer in ${lo}..${hi}, got ${String(v)}`);
      }
      out[key] = v as number;
    }
  }
  return out;
}

// ------------------------------------------------------------ parameters

/** An offer's or answer's parameters, checked: each at most once, with a valid value. */
interface Parsed {
  servernocontexttakeover: boolean;
  clientnocontexttakeover: boolean;
  servermaxwindowbits: number | undefined;
  /** true: present without a value (allowed in an offer only). */
  clientmaxwindowbits: number | true | undefined;
}

/** A window bits value exactly as RFC 7692 7.1.2 spells it: 8..15, decimal, no leading zero. */
function windowbits(v: string | undefined): number | undefined {
  if (v === undefined || !/^(?:[89]|1[0-5])$/.test(v)) return undefined;
  return Number(v);
}

/** Checks one element's parameters (7.1); `offer` allows a bare client_max_window_bits. */
function checkparams(params: ExtensionParam[], offer: boolean): [Parsed, undefined] | [undefined, string] {
  const p: Parsed = {
    servernocontexttakeover: false,
    clientnocontexttakeover: false,
    servermaxwindowbits: undefined,
    clientmaxwindowbits: undefined,
  };
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (seen.has(name)) return [undefined, `duplicate parameter ${name}`];
    seen.add(name);
    switch (name) {
      case "server_no_context_takeover":
      case "client_no_context_takeover":
        if (value !== undefined) return [undefined, `${name} takes no value, got ${JSON.stringify(value)}`];
        if (name === "server_no_context_takeover") p.servernocontexttakeover = true;
        else p.clientnocontexttakeover = true;
        break;
      case "server_max_window_bits": {
        const bits = windowbits(value);
        if (bits === undefined) return [undefined, `${name} must be 8..15, got ${value === undefined ? "no value" : JSON.stringify(value)}`];
        p.servermaxwindowbits = bits;
        break;
      }
      case "client_max_window_bits": {
        if (value === undefined && offer) {
          p.clientmaxwindowbits = true;
          break;
        }
        const bits = windowbits(value);
        if (bits === undefined) return [undefined, `${name} must be 8..15, got ${value === undefined ? "no value" : JSON.stringify(value)}`];
        p.clientmaxwindowbits = bits;
        break;
      }
      default:
        return [undefined, `unknown parameter ${name}`];
    }
  }
  return [p, undefined];
}

function format(params: DeflateParams, clientbits: boolean, serverbits: boolean): string {
  const out: ExtensionParam[] = [];
  if (params.servernocontexttakeover) out.push(["server_no_context_takeover", undefined]);
  if (params.clientnocontexttakeover) out.push(["client_no_context_takeover", undefined]);
  if (serverbits) out.push(["server_max_window_bits", String(params.servermaxwindowbits)]);
  if (clientbits) out.push(["client_max_window_bits", String(params.clientmaxwindowbits)]);
  return formatextension({ name: EXTENSION, params: out });
}

// ------------------------------------------------------------ server

/**
 * The server's side (RFC 7692 sections 5 and 7.1): takes the first
 * permessage-deflate offer in Sec-WebSocket-Extensions it can accept and
 * returns the parameters and the answer. Offers with unknown or duplicate
 * parameters or bad values are declined one by one; `[undefined, why]` when
 * none is left (the handshake then goes on without compression: declining is
 * never an error the client sees). A malformed header declines them all.
 */
export function acceptdeflate(header: string | readonly string[] | undefined, config: DeflateConfig): [DeflateAgreement, undefined] | [undefined, string] {
  const [items, err] = parseextensions(header);
  if (items === undefined) return [undefined, err];
  const why: string[] = [];
  for (const item of items) {
    if (item.name !== EXTENSION) continue;
    const [offer, bad] = checkparams(item.params, true);
    if (offer === undefined) {
      why.push(`offer ${why.length + 1} declined: ${bad}`);
      continue;
    }
    return [agree(offer, config), undefined];
  }
  if (why.length === 0) return [undefined, `no ${EXTENSION} offer`];
  return [undefined, why.join("; ")];
}

/** The answer to an acceptable offer (7.1.1, 7.1.2): every offer is one the server can honour. */
function agree(offer: Parsed, config: DeflateConfig): DeflateAgreement {
  // Context takeover: honour what the client asks; add what the server wants (both allowed unasked).
  const snct = offer.servernocontexttakeover || config.servernocontexttakeover;
  const cnct = offer.clientnocontexttakeover || config.clientnocontexttakeover;
  // The server's window: at most what the client allows; announced when under 15 (allowed unasked).
  const sbits = Math.min(offer.servermaxwindowbits ?? 15, config.servermaxwindowbits);
  // The client's window can only be limited when the client offered the
  // parameter; otherwise it may use 15 and the server inflates with 15.
  const offered = offer.clientmaxwindowbits;
  const cbits = offered === undefined ? 15 : Math.min(offered === true ? 15 : offered, config.clientmaxwindowbits);
  const params: DeflateParams = {
    servernocontexttakeover: snct,
    clientnocontexttakeover: cnct,
    servermaxwindowbits: sbits,
    clientmaxwindowbits: cbits,
  };
  return { params, answer: format(params, offered !== undefined && cbits < 15, offer.servermaxwindowbits !== undefined || sbits < 15) };
}

// ------------------------------------------------------------ client

/** The client's Sec-WebSocket-Extensions offer: one permessage-deflate element. */
export function offerdeflate(config: DeflateConfig): string {
  const params: ExtensionParam[] = [];
  if (config.servernocontexttakeover) params.push(["server_no_context_takeover", undefined]);
  if (config.clientnocontexttakeover) params.push(["client_no_context_takeover", undefined]);
  if (config.servermaxwindowbits < 15) params.push(["server_max_window_bits", String(config.servermaxwindowbits)]);
  // Always offered, so the server may limit this client's window to any value.
  params.push(["client_max_window_bits", config.clientmaxwindowbits < 15 ? String(config.clientmaxwindowbits) : undefined]);
  return formatextension({ name: EXTENSION, params });
}

/**
 * The client's check of the server's answer to `offerdeflate(config)`:
 * `[params, undefined]` when it accepted, `[undefined, undefined]` when it
 * declined (no header), `[undefined, why]` when the answer names an extension
 * or a parameter that was not offered, a value the client cannot honour, or
 * a duplicate. RFC 7692 section 7.1 then requires the client to fail the
 * connection: the caller sends no frames and closes (a close 1010 or just the
 * TCP close, as the handshake has not completed for it).
 */
export function confirmdeflate(header: string | readonly string[] | undefined, config: DeflateConfig): [DeflateParams | undefined, undefined] | [undefined, string] {
  const [items, err] = parseextensions(header);
  if (items === undefined) return [undefined, err];
  if (items.length === 0) return [undefined, undefined];
  const foreign = items.find((it: ExtensionItem) => it.name !== EXTENSION);
  if (foreign !== undefined) return [undefined, `server chose extension ${foreign.name}, which was not offered`];
  if (items.length > 1) return [undefined, `server answered ${EXTENSION} ${items.length} times`];
  const [ans, bad] = checkparams(items[0].params, false);
  if (ans === undefined) return [undefined, `bad ${EXTENSION} answer: ${bad}`];
  if (config.servernocontexttakeover && !ans.servernocontexttakeover) {
    return [undefined, `${EXTENSION} answer lacks server_no_context_takeover, which was requested`];
  }
  const sbits = ans.servermaxwindowbits ?? 15;
  if (config.servermaxwindowbits < 15) {
    if (ans.servermaxwindowbits === undefined) return [undefined, `${EXTENSION} answer lacks server_max_window_bits, which was requested`];
    if (sbits > config.servermaxwindowbits) {
      return [undefined, `${EXTENSION} answer has server_max_window_bits=${sbits}, over the ${config.servermaxwindowbits} requested`];
    }
  }
  const cbits = ans.clientmaxwindowbits === undefined ? config.clientmaxwindowbits : (ans.clientmaxwindowbits as number);
  if (cbits > config.clientmaxwindowbits) {
    return [undefined, `${EXTENSION} answer has client_max_window_bits=${cbits}, over the ${config.clientmaxwindowbits} offered`];
  }
  return [
    {
      servernocontexttakeover: ans.servernocontexttakeover,
      clientnocontexttakeover: ans.clientnocontexttakeover || config.clientnocontexttakeover,
      servermaxwindowbits: sbits,
      clientmaxwindowbits: cbits,
    },
    undefined,
  ];
}
