// silly.errno: transport errors as constants, so `err === errno.EOF` works for
// values returned by silly/net/tcp and silly/net/tls. Each value is a
// readable message, so logging it needs no lookup.
const table = {
  INTR: "Interrupted system call",
  ACCES: "Permission denied",
  BADF: "Bad file descriptor",
  INVAL: "Invalid argument",
  MFILE: "Too many open files",
  NFILE: "Too many open files in system",
  NOMEM: "Cannot allocate memory",
  NOBUFS: "No buffer space available",
  AFNOSUPPORT: "Address family not supported by protocol",
  ADDRINUSE: "Address already in use",
  ADDRNOTAVAIL: "Cannot assign requested address",
  NETDOWN: "Network is down",
  NETUNREACH: "Network is unreachable",
  NETRESET: "Network dropped connection on reset",
  HOSTUNREACH: "No route to host",
  CONNABORTED: "Software caused connection abort",
  CONNRESET: "Connection reset by peer",
  CONNREFUSED: "Connection refused",
  TIMEDOUT: "Operation timed out",
  NOTCONN: "Transport endpoint is not connected",
  AGAIN: "Resource temporarily unavailable",
  PIPE: "Broken pipe",
  MSGSIZE: "Message too long",
  RESOLVE: "DNS resolution failed",
  CLOSING: "Socket is closing",
  CLOSED: "Socket is closed",
  EOF: "End of file",
  TLS: "TLS handshake or record-layer error",
} as const;

export type Errno = (typeof table)[keyof typeof table];
export type ErrnoName = keyof typeof table;

export const {
  INTR, ACCES, BADF, INVAL, MFILE, NFILE, NOMEM, NOBUFS, AFNOSUPPORT, ADDRINUSE,
  ADDRNOTAVAIL, NETDOWN, NETUNREACH, NETRESET, HOSTUNREACH, CONNABORTED, CONNRESET,
  CONNREFUSED, TIMEDOUT, NOTCONN, AGAIN, PIPE, MSGSIZE, RESOLVE, CLOSING, CLOSED, EOF, TLS,
} = table;

/**
 * Map a Node.js system error (its `code`, e.g. "ECONNRESET") to an errno
 * value; unknown codes become a message that keeps the original code.
 */
export function fromnode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL" || code === "EAI_NONAME") return RESOLVE;
    if (code === "ETIMEDOUT") return TIMEDOUT;
    if (code === "ERR_SOCKET_CLOSED" || code === "ERR_STREAM_DESTROYED") return CLOSED;
    if (code.startsWith("ERR_SSL") || code.startsWith("ERR_TLS") || code.includes("CERT") || code === "DEPTH_ZERO_SELF_SIGNED_CERT") {
      return `${TLS}: ${(err as Error).message}`;
    }
    const name = code.startsWith("E") ? code.slice(1) : code;
    if (name in table) return table[name as ErrnoName];
    return `${(err as Error).message ?? code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

const errno = { ...table, fromnode };
export default errno;
