// The public types: values shared by the server and the client, and the
// stream objects both hand out.
import type { Conn } from "silly/net/tcp";
import type { Pem } from "silly/net/tls";

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
  /** After an error answer, most bytes still read and dropped before the connection is closed. Default 16 MiB. */
  linger: number;
}

/** Time limits of the server, in milliseconds. */
export interface Timeouts {
  /** From the first byte of a request to the end of its head. Slower: 408 and close. Default 10 s. */
  header: number;
  /** How long a keep-alive connection may wait for its next request. Then it is closed. Default 60 s. */
  idle: number;
  /** How long a body read may wait for more bytes. Slower: 408 and close. Default 30 s. */
  body: number;
  /** After an error answer, how long the client may go on sending before the connection is closed. Default 5 s. */
  linger: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  requestline: 8 * 1024,
  headerbytes: 64 * 1024,
  headercount: 100,
  body: 8 * 1024 * 1024,
  linger: 16 * 1024 * 1024,
});

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  header: 10_000,
  idle: 60_000,
  body: 30_000,
  linger: 5_000,
});

/**
 * The error of an extended CONNECT (RFC 8441) that the server cannot take:
 * it did not announce SETTINGS_ENABLE_CONNECT_PROTOCOL, or its ALPN picked
 * HTTP/1.1 though "h2" was offered. A caller can fall back on an HTTP/1.1
 * upgrade then.
 */
export const NOEXTENDEDCONNECT = "http: the server does not take extended CONNECT (RFC 8441)";

/** One request and its response, as a handler sees it (HTTP/1.x or HTTP/2). */
export interface ServerStream {
  /** The request method, e.g. "GET". */
  readonly method: string;
  /** The request path, percent-decoded ("/a b" for "/a%20b?x"). */
  readonly path: string;
  /** The request path as sent, still percent-encoded, without the query. */
  readonly rawpath: string;
  /** The request-target exactly as sent ("/a%20b?x=1"). */
  readonly target: string;
  /** Query parameters, decoded ("+" is a space); a repeated key keeps its last value. */
  readonly query: Record<string, string>;
  /** Request headers: lower-case names; repeats joined with ", " (set-cookie with "\n"). */
  readonly header: Header;
  /** "HTTP/1.1", "HTTP/1.0" or "HTTP/2". */
  readonly version: string;
  /** The client's "ip:port". */
  readonly remoteaddr: string;
  /** The connection (tcp or tls); after a 101 answer it belongs to the upgraded protocol. Shared by every stream of an HTTP/2 connection. */
  readonly conn: Conn;
  /** The protocol an extended CONNECT asks for (RFC 8441, HTTP/2 only), e.g. "websocket"; undefined otherwise. */
  readonly protocol: string | undefined;
  /** Trailer fields of the request body, once it has been read to its end. */
  readonly trailer: Header | undefined;
  /** Set the status and header fields; the head goes out with the first write() or close(). */
  respond(status: number, headers?: HeaderInput, close?: boolean): Promise<WriteResult>;
  /** Send a piece of the body. */
  write(data: Body): Promise<WriteResult>;
  /** Finish the response with `body` as its last piece, then `trailer` fields. */
  close(body?: Body, trailer?: HeaderInput): Promise<WriteResult>;
  /** The same as close(body, trailer). */
  closewrite(body?: Body, trailer?: HeaderInput): Promise<WriteResult>;
  /** The next piece of the request body, or `[undefined, errno.EOF]` after the last one. */
  read(): Promise<ReadResult>;
  /** The whole request body. */
  readall(): Promise<ReadAllResult>;
}

/** Options of a client request. */
export interface RequestOptions {
  /** Ms allowed for connecting (TCP and TLS), and for each wait on the response. Default 60 s. */
  timeout?: number;
  /** Extra trust anchors (PEM) for https, e.g. a test CA. */
  ca?: Pem | readonly Pem[];
  /** The TLS name to send (SNI) and to check the certificate against. Default: the URL's host. */
  hostname?: string;
  /** Check the server's certificate (default true). */
  verify?: boolean;
  /** ALPN protocols to offer over TLS, e.g. ["h2", "http/1.1"]. Default ["http/1.1"]. */
  alpnprotos?: readonly string[];
  /** Bounds on the response: head bytes (default 64 KiB), header count (100), body bytes (64 MiB, after decompression). */
  limits?: { headerbytes?: number; headercount?: number; body?: number };
  /** Reuse a kept-alive connection to the same origin, and keep this one for reuse. Default true. */
  reuse?: boolean;
  /** Ask for a compressed response (gzip, deflate, br) and decode it. Default false. */
  decompress?: boolean;
  /** The protocol of an extended CONNECT (RFC 8441; HTTP/2 only), e.g. "websocket". */
  protocol?: string;
}

/** The status and header fields of a response. */
export interface ResponseHead {
  status: number;
  header: Header;
}

/** A whole response, from get() and post(). */
export interface Response {
  status: number;
  header: Header;
  body: Buffer;
  /** Trailer fields that followed the body, if any came. */
  trailer: Header | undefined;
}

export type RequestResult = [ClientStream, undefined] | [undefined, string];
export type ReadHeaderResult = [ResponseHead, undefined] | [undefined, string];
export type FetchResult = [Response, undefined] | [undefined, string];

/**
 * A request in flight (HTTP/1.1 or HTTP/2). The request head is held back
 * until the first write() or closewrite(), so closewrite(body) sends a
 * Content-Length and a bodyless request sends no body framing at all.
 */
export interface ClientStream {
  /** The connection; after a 101 answer it is the caller's (close() leaves it open). Shared by every stream of an HTTP/2 connection. */
  readonly conn: Conn;
  /** The request method. */
  readonly method: string;
  /** "HTTP/1.1" or "HTTP/2". */
  readonly version: string;
  /** The response status, once readheader() succeeded. */
  readonly status: number | undefined;
  /** The response header fields, once readheader() succeeded. */
  readonly header: Header | undefined;
  /** Trailer fields of the response, once its body has been read to the end. */
  readonly trailer: Header | undefined;
  /** Send a piece of the request body (the head first; chunked unless a content-length was given). */
  write(data: Body): Promise<WriteResult>;
  /** Finish the request with `body` as its last piece, then `trailer` fields. */
  closewrite(body?: Body, trailer?: HeaderInput): Promise<WriteResult>;
  /** Wait for the response head (interim 1xx answers other than 101 are skipped); sends the request first if nothing was sent. */
  readheader(): Promise<ReadHeaderResult>;
  /** The next piece of the response body, or `[undefined, errno.EOF]` after the last one. */
  read(): Promise<ReadResult>;
  /** The whole response body (reads the head first if needed). */
  readall(): Promise<ReadAllResult>;
  /** Done with the stream: its connection goes back to the pool if it can be reused, else it is closed (but not after a 101). */
  close(): void;
}
