// silly.errno: transport errors as constants, so `err === errno.EOF` works for
// values returned by silly/net/tcp and silly/net/tls. Each value is a
// readable message, so logging it needs no lookup.
import { causeof } from "./internal/cause.js";

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

// OpenSSL certificate-verification codes that do not spell "CERT" or "CRL".
const X509CODES = new Set(["INVALID_CA", "PATH_LENGTH_EXCEEDED", "INVALID_PURPOSE", "HOSTNAME_MISMATCH"]);

/** Is this a TLS failure (OpenSSL, Node's TLS layer, or certificate checks)? */
function istls(err: unknown, code: string): boolean {
  if (code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_") || code.startsWith("UNABLE_TO_")) return true;
  if (code.includes("CERT") || code.includes("CRL") || X509CODES.has(code)) return true;
  // OpenSSL errors carry the library that raised them.
  return typeof (err as { library?: unknown }).library === "string";
}

/**
 * Map a Node.js error (its `code`, e.g. "ECONNRESET") to an errno value.
 * TLS failures become "<errno.TLS>: <cause>", so they read well and still
 * start with errno.TLS; unknown codes keep Node's message.
 */
export function fromnode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof code === "string") {
    if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL" || code === "EAI_NONAME") return RESOLVE;
    if (code === "ETIMEDOUT") return TIMEDOUT;
    if (code === "ERR_SOCKET_CLOSED" || code === "ERR_STREAM_DESTROYED") return CLOSED;
    if (istls(err, code)) return `${TLS}: ${causeof(err)}`;
    const name = code.startsWith("E") ? code.slice(1) : code;
    if (Object.hasOwn(table, name)) return table[name as ErrnoName];
    return message || code;
  }
  return message;
}

const errno = { ...table, fromnode };
export default errno;
