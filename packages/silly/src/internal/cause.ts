// Readable causes of errors from Node.js and OpenSSL.

/**
 * The readable cause of an error: OpenSSL's short reason ("wrong version
 * number") instead of its long diagnostic line, else the message.
 */
export function causeof(err: unknown, withlibrary = false): string {
  const e = err as { reason?: unknown; library?: unknown; message?: unknown } | null;
  if (typeof e?.library === "string" && typeof e.reason === "string" && e.reason !== "") {
    return withlibrary ? `${e.library}: ${e.reason}` : e.reason;
  }
  return typeof e?.message === "string" ? e.message : String(err);
}
