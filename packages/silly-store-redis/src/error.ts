// The error value of every failed Redis call. `kind` says what failed, so a
// caller can tell a Redis error reply (the command ran and said no) from a
// transport failure (the command may not have run, or its outcome is unknown).

export type ErrorKind =
  /** The server answered with an error reply (`-ERR ...`); the connection is fine. */
  | "reply"
  /** No connection could be made (refused, DNS, wrong password, bad db): the command was not sent. */
  | "connect"
  /** The connection dropped after the command was sent: it may or may not have run. */
  | "lost"
  /** No reply within the `timeout` option: the connection is reset, the outcome is unknown. */
  | "timeout"
  /** The server sent bytes that are not RESP: the connection is reset. */
  | "protocol"
  /** The reply was larger than the `maxreply` option: it was read and dropped. */
  | "toolarge"
  /** The client or the subscription was closed. */
  | "closed"
  /** A subscription's unread messages went past the `maxqueue` option: it was closed. */
  | "overflow";

export class RedisError {
  constructor(
    readonly kind: ErrorKind,
    /** For "reply", the server's text, which starts with its code: "WRONGTYPE Operation against...". */
    readonly message: string,
  ) {}

  toString(): string {
    return this.kind === "reply" ? this.message : `redis ${this.kind}: ${this.message}`;
  }
}
