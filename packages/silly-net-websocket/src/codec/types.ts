// The public types of the codec's modules (a module of its own, so that the
// public declarations reach no codec internals).

/** The message types of RFC 6455 as this package names them. */
export type MessageType = "text" | "binary" | "ping" | "pong" | "close";

/** The `compression` option's object form (permessage-deflate, RFC 7692). Every field is optional. */
export interface CompressionOptions {
  /**
   * Largest LZ77 window (base-2 log, 8..15) the server compresses with. A
   * server uses it and announces it when under 15; a client asks the server
   * for it when under 15.
   */
  servermaxwindowbits?: number;
  /**
   * Largest window (8..15) the client compresses with. A client uses it and
   * offers it; a server asks the client for it (when the client offered the
   * parameter, as browsers do) and inflates with it.
   */
  clientmaxwindowbits?: number;
  /** The server starts every message with an empty window (no memory kept between messages). */
  servernocontexttakeover?: boolean;
  /** The client starts every message with an empty window. */
  clientnocontexttakeover?: boolean;
  /** Data messages shorter than this many bytes are sent uncompressed. */
  threshold?: number;
  /** zlib memLevel of the compressor, 1..9: memory for its hash table and buffers. */
  memlevel?: number;
  /** zlib compression level, 0 (store only) .. 9 (smallest, slowest). */
  level?: number;
}

/** The `compression` option: false (off), true (the defaults) or the settings. */
export type Compression = boolean | CompressionOptions;
