// silly's "host:port" address strings: parsing and formatting.

export interface HostPort {
  /** undefined means every interface (listen) or localhost (connect). */
  host: string | undefined;
  port: number;
}

/**
 * "127.0.0.1:8080", ":8080" (all interfaces), "[::1]:8080", "8080",
 * "localhost:0". Returns an error message for anything else.
 */
export function parseaddr(addr: string): HostPort | string {
  if (typeof addr !== "string") return `invalid address ${String(addr)}: want "host:port"`;
  let host: string | undefined;
  let portstr: string;
  const m = /^\[([0-9a-fA-F:.%\w]+)\]:(\d+)$/.exec(addr);
  if (m !== null) {
    host = m[1];
    portstr = m[2]!;
  } else {
    const i = addr.lastIndexOf(":");
    if (i < 0) portstr = addr;
    else {
      host = addr.slice(0, i);
      portstr = addr.slice(i + 1);
      if (host.includes(":")) return `invalid address "${addr}": put IPv6 hosts in brackets, "[::1]:8080"`;
    }
    if (host === "" || host === "*") host = undefined;
  }
  if (!/^\d{1,5}$/.test(portstr)) return `invalid address "${addr}": bad port "${portstr}"`;
  const port = Number(portstr);
  if (port > 65535) return `invalid address "${addr}": port out of range`;
  return { host, port };
}

/** "ip:port", or "[ip]:port" for IPv6; "" without a host. */
export function formataddr(host: string | undefined, port: number | undefined): string {
  if (host === undefined) return "";
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
