// Public value types shared by the server and the client.

/** Received header fields: lower-case names; repeated fields joined with ", " ("\n" for set-cookie). */
export type Header = Record<string, string>;

/**
 * Header fields to send. A number is written in decimal; an array sends the
 * field once per element (for set-cookie); undefined leaves the field out.
 */
export type HeaderInput = Readonly<Record<string, string | number | readonly string[] | undefined>>;

/** Bytes to send: text is sent as UTF-8, binary as is. */
export type Body = string | Uint8Array;

/** The outcome of a write: `[true]` or `[false, err]`. */
export type WriteResult = [true, undefined] | [false, string];

/** A piece of a body, or `[undefined, err]`; err is errno.EOF once the body has ended. */
export type ReadResult = [Buffer, undefined] | [undefined, string];

/** A whole body, or `[undefined, err]`. */
export type ReadAllResult = [Buffer, undefined] | [undefined, string];

/** Size limits of the server (bytes unless noted). */
export interface Limits {
  /** Longest request line ("GET /path HTTP/1.1"), CRLF excluded. Longer: 414. Default 8 KiB. */
  requestline: number;
  /** Largest request head (request line and every header line). Larger: 431. Default 64 KiB. */
  headerbytes: number;
  /** Most header lines in a request (and trailer lines after a chunked body). More: 431. Default 100. */
  headercount: number;
  /** Largest request body, whether read with readall() or read(). Larger: 413. Default 8 MiB. */
  body: number;
}

/** Time limits of the server, in milliseconds. */
export interface Timeouts {
  /** From the first byte of a request to the end of its head. Slower: 408 and close. Default 10 s. */
  header: number;
  /** How long a keep-alive connection may wait for its next request. Then it is closed. Default 60 s. */
  idle: number;
  /** How long a body read may wait for more bytes. Slower: 408 and close. Default 30 s. */
  body: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  requestline: 8 * 1024,
  headerbytes: 64 * 1024,
  headercount: 100,
  body: 8 * 1024 * 1024,
});

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  header: 10_000,
  idle: 60_000,
  body: 30_000,
});
