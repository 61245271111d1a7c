// The Sec-WebSocket-Extensions header (RFC 6455 section 9.1), sans-I/O.
//
//   extension-list = 1#extension
//   extension      = extension-token *( ";" extension-param )
//   extension-param = token [ "=" ( token / quoted-string ) ]
//
// A quoted value must be a token once unquoted (9.1; RFC 7692 section 7 relies
// on it). Optional whitespace is allowed around ",", ";" and "=", and empty
// list elements are skipped (RFC 9110 section 5.6.1). Several header lines
// form one list, in order. Names are kept as sent: extension and parameter
// names compare case-sensitively, as the registered names are lower case.

/** One parameter: its name and its value (undefined when it has none). */
export type ExtensionParam = [name: string, value: string | undefined];

/** One list element: an extension name and its parameters, in order, duplicates kept. */
export interface ExtensionItem {
  name: string;
  params: ExtensionParam[];
}

/** tchar of RFC 9110 section 5.6.2, indexed by char code. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TCHAR[c.charCodeAt(0)] = 1;

function istchar(c: number): boolean {
  return c < 128 && TCHAR[c] === 1;
}

/** True when `s` is a non-empty token. */
export function istoken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!istchar(s.charCodeAt(i))) return false;
  return true;
}

/** A cursor over one header value. */
class Scanner {
  pos = 0;
  constructor(readonly s: string) {}

  get done(): boolean {
    return this.pos >= this.s.length;
  }

  peek(): number {
    return this.s.charCodeAt(this.pos);
  }

  skipows(): void {
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos);
      if (c !== 32 && c !== 9) break;
      this.pos++;
    }
  }

  token(): string {
    const start = this.pos;
    while (this.pos < this.s.length && istchar(this.s.charCodeAt(this.pos))) this.pos++;
    return this.s.slice(start, this.pos);
  }

  /** A quoted-string at the cursor (which is on the opening quote), unescaped; undefined when malformed. */
  quoted(): string | undefined {
    let out = "";
    this.pos++;
    while (this.pos < this.s.length) {
      const c = this.s.charCodeAt(this.pos++);
      if (c === 34) return out;
      if (c === 92) {
        if (this.pos >= this.s.length) return undefined;
        const e = this.s.charCodeAt(this.pos++);
        if (e !== 9 && (e < 32 || e === 127)) return undefined;
        out += this.s[this.pos - 1];
      } else if (c !== 9 && (c < 32 || c === 127)) {
        return undefined; // a control character is not qdtext
      } else {
        out += this.s[this.pos - 1];
      }
    }
    return undefined; // no closing quote
  }
}

/** Parses one header value into `out`; returns why it is malformed, or undefined. */
function parseline(line: string, out: ExtensionItem[]): string | undefined {
  const sc = new Scanner(line);
  for (;;) {
    sc.skipows();
    if (sc.done) return undefined;
    if (sc.peek() === 44) {
      sc.pos++; // an empty element
      continue;
    }
    const name = sc.token();
    if (name === "") return `expected an extension name at offset ${sc.pos}`;
    const item: ExtensionItem = { name, params: [] };
    out.push(item);
    sc.skipows();
    while (!sc.done && sc.peek() === 59) {
      sc.pos++;
      sc.skipows();
      const pname = sc.token();
      if (pname === "") return `expected a parameter name at offset ${sc.pos}`;
      sc.skipows();
      let value: string | undefined;
      if (!sc.done && sc.peek() === 61) {
        sc.pos++;
        sc.skipows();
        if (!sc.done && sc.peek() === 34) {
          const at = sc.pos;
          value = sc.quoted();
          if (value === undefined) return `malformed quoted-string at offset ${at}`;
          if (!istoken(value)) return `quoted value of ${pname} is not a token`;
        } else {
          value = sc.token();
          if (value === "") return `expected a value for ${pname} at offset ${sc.pos}`;
        }
        sc.skipows();
      }
      item.params.push([pname, value]);
    }
    if (sc.done) return undefined;
    if (sc.peek() !== 44) return `unexpected ${JSON.stringify(line[sc.pos])} at offset ${sc.pos}`;
    sc.pos++;
  }
}

/**
 * Parses Sec-WebSocket-Extensions: one value, several header lines (an
 * array, or joined with ", " as HTTP allows), or undefined (no header: an
 * empty list). A syntax error anywhere is `[undefined, why]`.
 */
export function parseextensions(header: string | readonly string[] | undefined): [ExtensionItem[], undefined] | [undefined, string] {
  const out: ExtensionItem[] = [];
  if (header === undefined) return [out, undefined];
  const lines = typeof header === "string" ? [header] : header;
  for (const line of lines) {
    const why = parseline(line, out);
    if (why !== undefined) return [undefined, `malformed sec-websocket-extensions: ${why}`];
  }
  return [out, undefined];
}

/** One list element as header text: `name; p1; p2=v`. Names and values must be tokens. */
export function formatextension(item: ExtensionItem): string {
  let s = item.name;
  for (const [name, value] of item.params) s += value === undefined ? `; ${name}` : `; ${name}=${value}`;
  return s;
}
