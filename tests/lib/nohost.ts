// A host name that never resolves and never leaves the machine: a 64-byte label
// is longer than DNS allows (RFC 1035 2.3.4), so the resolver refuses it before
// sending any query (a plain `.invalid` name is still asked of the DNS server).
export const NOHOST = `${"a".repeat(64)}.invalid`;
