// Differential test: the same request bytes go to our server and to node:http
// (llhttp in strict mode), and what each made of them is compared: the
// requests a handler saw (method, target, version, host, body), and whether
// the stream was refused. The cases are a fixed corpus (modelled on llhttp's
// own strict request cases) and requests made by a seeded generator, valid
// and malformed. Every disagreement must be one the docs list as deliberate
// (docs/http.md, "Differences from node:http"); any other fails the test
// with its seed and bytes.
//
//   HTTP_DIFF_SEED=123 HTTP_DIFF_CASES=2000 node --conditions=source --import tsx tests/http-differential.test.ts
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as net from "node:net";
import * as nodehttp from "node:http";
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import http from "silly-net-http";
import { rng } from "./lib/rng.js";

const SEED = Number(process.env.HTTP_DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CASES = Number(process.env.HTTP_DIFF_CASES ?? 400);
const BUDGET_MS = Number(process.env.HTTP_DIFF_MS ?? 60_000);
const PARALLEL = 8;
const CASE_MS = 5_000;

// ---- what a handler saw ----

function summary(method: string, target: string, version: string, host: string | undefined, body: Buffer): string {
  const h = createHash("sha1").update(body).digest("hex").slice(0, 8);
  return `${method} ${target} v${version} host=${host ?? "-"} n=${body.length} ${h}`;
}

async function servers() {
  const [ours, err] = await http.listen({
    addr: "127.0.0.1:0",
    timeouts: { header: 1500, body: 1500, idle: 1500 },
    handler: async (s) => {
      const [body] = await s.readall();
      if (body === undefined) return; // answered by the server
      s.close(summary(s.method, s.target, s.version.slice(5), s.header["host"], body));
    },
  });
  if (ours === undefined) throw new Error(`listen: ${err}`);
  const node = nodehttp.createServer({ connectionsCheckingInterval: 100, headersTimeout: 1500, requestTimeout: 1500 }, (req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => res.end(summary(req.method!, req.url!, req.httpVersion, req.headers.host, Buffer.concat(parts))));
  });
  node.keepAliveTimeout = 1500;
  // node:http answers a parse error at once and destroys the socket, dropping the answers of
  // requests before the bad one that are still in flight: give those a moment to go out first.
  node.on("clientError", (e: NodeJS.ErrnoException, sock: net.Socket) => {
    const status = e.code === "HPE_HEADER_OVERFLOW" ? 431 : e.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    setTimeout(() => {
      if (sock.writable) sock.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else sock.destroy();
    }, 100);
  });
  await new Promise<void>((r) => node.listen(0, "127.0.0.1", r));
  return { ours: ours.port, node: (node.address() as AddressInfo).port, close: () => (ours.close(), node.close(), node.closeAllConnections()) };
}

/** What came back: the summary of each request a handler saw; whether an error status came too. */
interface Outcome {
  served: string[];
  refused: number;
}

/** Send `bytes`, then end the stream; collect everything until the server closes (or CASE_MS pass). */
function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    const parts: Buffer[] = [];
    const done = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(Buffer.concat(parts));
    };
    const timer = setTimeout(done, CASE_MS);
    sock.on("data", (d) => parts.push(d));
    sock.on("error", done);
    sock.on("close", done);
    sock.end(bytes);
  });
}

/** Split the bytes received into responses (Content-Length, chunked, or until the end). */
function outcome(raw: Buffer): Outcome {
  const served: string[] = [];
  let refused = 0;
  let at = 0;
  while (at < raw.length) {
    const end = raw.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const head = raw.toString("latin1", at, end);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    let body = "";
    at = end + 4;
    if (cl !== null) {
      body = raw.toString("latin1", at, at + Number(cl[1]));
      at += Number(cl[1]);
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const eol = raw.indexOf("\r\n", at);
        const n = eol < 0 ? 0 : parseInt(raw.toString("latin1", at, eol), 16);
        if (!(n > 0)) {
          at = eol < 0 ? raw.length : raw.indexOf("\r\n\r\n", eol) + 4 || raw.length;
          break;
        }
        body += raw.toString("latin1", eol + 2, eol + 2 + n);
        at = eol + 4 + n;
      }
    } else if (status >= 200) {
      body = raw.toString("latin1", at);
      at = raw.length;
    }
    if (status >= 100 && status < 200) continue;
    if (status === 200) served.push(body);
    else refused = status;
  }
  return { served, refused };
}

// ---- the cases ----

interface Case {
  bytes: Buffer;
  /** What the case does that may matter (deliberate differences are keyed by these). */
  tags: string[];
}

/** Text with "\n" line ends turned into CRLF (as llhttp's own cases are written); "\\n" marks a bare LF. */
function crlf(text: string, tags: string[]): Case {
  return { bytes: Buffer.from(text.replace(/\n/g, "\r\n").replace(/\\n/g, "\n").replace(/\\r/g, "\r"), "latin1"), tags };
}

/** Fixed cases, modelled on llhttp's strict request tests (our own rendering; a Host added where HTTP/1.1 needs it). */
const CORPUS: Case[] = [
  crlf("GET / HTTP/1.1\nHost: a\n\n", []),
  crlf("PUT /url HTTP/1.1\nHost: a\nContent-Length: 003\n\nabc", []),
  crlf("PUT /url HTTP/1.1\nHost: a\nContent-Length: 003\nOhai: world\n\nabc", []),
  crlf("PUT /url HTTP/1.1\nHost: a\nContent-Length: 1000000000000000000000\n\n", []),
  crlf("PUT /url HTTP/1.1\nHost: a\nContent-Length: 1\nContent-Length: 2\n\nab", []),
  crlf("PUT /url HTTP/1.1\nHost: a\nContent-Length: 1\nContent-Length: 1\n\na", ["cl-repeated-same"]),
  crlf("PUT /url HTTP/1.1\nHost: a\nContent-Length: 1\nTransfer-Encoding: identity\n\n", []),
  crlf("GET /get_funky_content_length_body_hello HTTP/1.0\nconTENT-Length: 5\n\nHELLO", []),
  crlf("POST / HTTP/1.1\nHost: a\nContent-Length:  4 \n\nabcd", []),
  crlf("POST / HTTP/1.1\nHost: a\nContent-Length: 4 2\n\n", []),
  crlf("POST / HTTP/1.1\nHost: a\nContent-Length:\n\n", []),
  crlf("PUT /url HTTP/1.1\nHost: a\nContent\\rLength: 003\n\nabc", []),
  crlf("POST /first HTTP/1.1\nHost: a\nTransfer-Encoding:\nContent-Length: 5\n\nhello", ["te-empty"]),
  crlf("PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\na\n0123456789\n0\n\n", []),
  crlf("PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\nA\n0123456789\n0\n\n", []),
  crlf("POST /two HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n5\nhello\n6\n world\n000\n\n", []),
  crlf("POST /trailers HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n5\nhello\n6\n world\n0\nVary: *\nContent-Type: text/plain\n\n", []),
  crlf("POST /ext HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n5;ilovew3;somuchlove=aretheseparametersfor;another=withvalue\nhello\n6;blahblah;blah\n world\n0\n\n", []),
  crlf("POST /ext HTTP/1.1\nHost: a\nTransfer-encoding: chunked\n\n2 erfrferferf\naa\n0 rrrr\n\n", []),
  crlf("POST /ext HTTP/1.1\nHost: a\nTransfer-encoding: chunked\n\n2;\naa\n0\n\n", []),
  crlf('POST /ext HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n5;ilovew3="I \\"love\\"; \\\\extensions\\\\";somuchlove="aretheseparametersfor";blah;foo=bar\nhello\n6;blahblah;blah\n world\n0\n\n', []),
  crlf('POST /ext HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n5;ilovew3="abc";somuchlove="def; ghi\nhello\n6;blahblah;blah\n world\n0\n\n', []),
  crlf("PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: pigeons\n\n", []),
  crlf("POST /te HTTP/1.1\nHost: a\nAccept: */*\nTransfer-Encoding: identity\nContent-Length: 5\n\nWorld", []),
  crlf("POST /te HTTP/1.1\nHost: a\nTransfer-Encoding: chunked, deflate\n\nWorld", []),
  crlf("POST /te HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\nTransfer-Encoding: deflate\n\nWorld", []),
  crlf("POST /te HTTP/1.1\nHost: a\nTransfer-Encoding: deflate, chunked\n\n5\nWorld\n0\n\n", ["te-coding"]),
  crlf("POST /te HTTP/1.1\nHost: a\nTransfer-Encoding: deflate\nTransfer-Encoding: chunked\n\n5\nWorld\n0\n\n", ["te-coding"]),
  crlf("POST /te HTTP/1.1\nHost: a\nTransfer-Encoding: chunkedchunked\n\n5\nWorld\n0\n\n", []),
  crlf("PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3\nfoo\n\n", []),
  crlf("PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\n3 \\n  \\r\\n\\\nfoo\n\n", []),
  crlf("GET / HTTP/1.1\nHost: a\nConnection: close \nTransfer-Encoding: chunked \n\n5\\r\\r;ABCD\n34\nE\n0\n\n", []),
  crlf("GET / HTTP/1.1\nHost: a\nConnection: close \nTransfer-Encoding: chunked \n\n5\nABCDE0\n\n", []),
  crlf("PUT /url HTTP/1.1\nHost: a\nTransfer-Encoding: chunked\n\na \\r\\n0123456789\n0\n\n", []),
  crlf("GET /music/sweet/music ICE/1.0\nHost: example.com\n\n", []),
  crlf("GET /music/sweet/music IHTTP/1.0\nHost: example.com\n\n", []),
  crlf("PUT /music/sweet/music RTSP/1.0\nHost: example.com\n\n", []),
  crlf("ANNOUNCE /music/sweet/music HTTP/1.0\nHost: example.com\n\n", ["method-unknown"]),
  crlf("GET / HTTP/1.1\nHost: a\nFoo: 1\\rBar: 2\n\n", []),
  crlf("POST / HTTP/1.1\nHost: localhost:5000\nx:x\\nTransfer-Encoding: chunked\n\n1\nA\n0\n\n", []),
  crlf("GET / HTTP/1.1\nConnection: close\nHost: a\n\\rZGET /evil: HTTP/1.1\nHost: a\n\n", []),
  crlf("POST / HTTP/1.1\nConnection: Close\nHost: localhost:5000\nx:\\rTransfer-Encoding: chunked\n\n1\nA\n0\n\n", []),
  crlf("POST / HTTP/1.1\nHost: localhost:5000\nx:\\nTransfer-Encoding: chunked\n\n1\nA\n0\n\n", []),
  crlf("GET / HTTP/1.1\nHost: a\nFo@: Failure\n\n", []),
  crlf("GET / HTTP/1.1\nHost: a\nFoo\x01test: Bar\n\n", []),
  crlf("GET / HTTP/1.1\nHost: a\n: Bar\n\n", []),
  crlf("MKCOLA / HTTP/1.1\nHost: a\n\n", ["method-unknown"]),
  crlf("GET / HTTP/1.1\nHost: a\nname\n : value\n\n", []),
  crlf("GET / HTTP/1.1\nHost: www.example.com\nConnection\\r\x1b\x35\xd5eep-Alive\nAccept-Encoding: gzip\n\n", []),
  crlf("GET / HTTP/1.1\nHost: localhost\nDummy: x\\nContent-Length: 23\n\nGET / HTTP/1.1\nDummy: GET /admin HTTP/1.1\nHost: localhost\n\n", []),
  crlf("GET / HTTP/5.6\nHost: a\n\n", []),
  crlf("GET / HTTP/1.1\n Host: foo\n\n", []),
  crlf("POST / HTTP/1.1\\n\\\nHost: a\\n\\\nTransfer-Encoding: chunked\\n\\\n\\n\\\n1\\n\\\nA\\n\\\n0\\n\\\n\\n\\\n", []),
  crlf("POST /hello HTTP/1.1\nHost: localhost\nFoo: bar\n Content-Length: 38\n\nGET /bye HTTP/1.1\nHost: localhost\n\n", []),
  crlf('GET /with_"lovely"_quotes?foo=\\"bar\\" HTTP/1.1\nHost: a\n\n', []),
  crlf("GET /test.cgi?foo=bar?baz HTTP/1.1\nHost: a\n\n", []),
  crlf("GET http://hypnotoad.org?hail=all HTTP/1.1\nHost: a\n\n", []),
  crlf("GET http://hypnotoad.org:1234?hail=all HTTP/1.1\nHost: a\n\n", []),
  crlf("GET /test.cgi?query=| HTTP/1.1\nHost: a\n\n", []),
  crlf("GET http://hypnotoad.org:1234 HTTP/1.1\nHost: a\n\n", []),
  crlf("GET /\xce\xb4\xc2\xb6/\xce\xb4t/pope?q=1#narf HTTP/1.1\nHost: github.com\n\n", []),
  crlf("GET /forums/1/topics/2375?page=1#posts-17408 HTTP/1.1\nHost: a\n\n", []),
  crlf("GET http://a%12:b!&*$@hypnotoad.org:1234/toto HTTP/1.1\nHost: a\n\n", []),
  crlf("GET /foo bar/ HTTP/1.1\nHost: a\n\n", []),
  crlf("CONNECT home_0.netscape.com:443 HTTP/1.0\nUser-agent: Mozilla/1.1N\n\n", ["connect"]),
  crlf("CONNECT foo.bar.com:443 HTTP/1.0\nContent-Length: 10\n\nblarfcicle", ["connect"]),
  crlf("REPORT /test HTTP/1.1\nHost: a\n\n", []),
  crlf("M-SEARCH * HTTP/1.1\nHOST: 239.255.255.250:1900\nMAN: \"ssdp:discover\"\n\n", ["target-asterisk"]),
  crlf("PATCH /file.txt HTTP/1.1\nHost: www.example.com\nContent-Length: 10\n\ncccccccccc", []),
  crlf("PURGE /file.txt HTTP/1.1\nHost: a\n\n", []),
  crlf("LINK /images/my_dog.jpg HTTP/1.1\nHost: example.com\nLink: <http://example.com/profiles/joe>; rel=\"tag\"\nLink: <x>; rel=\"tag\"\n\n", []),
  crlf("\n\nGET / HTTP/1.1\nHost: a\n\n", []),
  crlf("GET / HTTP/1.1\nHost: a\nHost: b\n\n", ["host-repeated"]),
  crlf("GET / HTTP/1.1\n\n", []),
  crlf("GET / HTTP/1.0\n\n", []),
  crlf("POST / HTTP/1.0\nTransfer-Encoding: chunked\n\n1\na\n0\n\n", ["te-http10"]),
  crlf("GET /%zz HTTP/1.1\nHost: a\n\n", ["target-bad-percent"]),
  crlf("OPTIONS * HTTP/1.1\nHost: a\n\n", []),
  crlf("GET / HTTP/1.1\nHost: a\nExpect: 100-continue\nContent-Length: 2\n\nab", []),
  crlf("POST / HTTP/1.1\nHost: a\nUpgrade: h2c\nConnection: Upgrade, HTTP2-Settings\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\nContent-Length: 3\n\nabc", []),
];

/** Requests built from valid parts, with a malformed part now and then. */
function generator(seed: number): () => Case {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number): boolean => r() < p;
  const METHODS: [string, string?][] = [["GET"], ["GET"], ["POST"], ["POST"], ["PUT"], ["DELETE"], ["PATCH"], ["OPTIONS"],
    ["get", "method-case"], ["FOO", "method-unknown"], ["G@T"], ["PROPFIND"]];
  const TARGETS: [string, string?][] = [["/"], ["/a/b?x=1&y=2"], ["/%41%42"], ["/%zz", "target-bad-percent"], ["http://h.example/x?q"],
    ["/a#frag"], ["//double"], ["/?q=a?b|c"], ["*", "target-asterisk"], ["/\xe9", "target-8bit"], ["/a\x7fb"], ["/%E4%BD%A0"]];
  const VERSIONS: [string, string?][] = [["HTTP/1.1"], ["HTTP/1.1"], ["HTTP/1.1"], ["HTTP/1.0", "http10"], ["HTTP/1.2"], ["HTTP/2.0", "version-2"],
    ["http/1.1"], ["HTTP/1.1 "], ["HTTP/11"]];
  const token = (): string => pick(["X-A", "x-b", "Accept", "User-Agent", "X-Long-Name-Here", "Cookie", "ETag"]);
  const value = (): [string, string?] => pick<[string, string?]>([["v"], ["a b c"], ["  padded  "], [""], ["caf\xe9", "value-8bit"],
    ["a\x01b"], ["a\x7fb"], ["\"q\""], ["1, 2"], ["a\tb"]]);
  const hex = (n: number): string => (chance(0.2) ? n.toString(16).toUpperCase() : n.toString(16)).padStart(chance(0.1) ? 4 : 1, "0");

  function one(tags: string[]): string {
    const [method, mtag] = pick(METHODS);
    const [target, ttag] = method === "OPTIONS" && chance(0.3) ? ["*"] : pick(TARGETS);
    const [version, vtag] = pick(VERSIONS);
    for (const t of [mtag, ttag, vtag]) if (t !== undefined) tags.push(t);
    let eol = "\r\n";
    const sep = chance(0.03) ? pick(["  ", "\t"]) : " ";
    if (sep !== " ") tags.push("request-line-ws");
    let s = `${method}${sep}${target}${sep}${version}${chance(0.03) ? "\n" : eol}`;
    const lines: string[] = [];
    const hosts = chance(0.9) ? (chance(0.05) ? 2 : 1) : 0;
    if (hosts === 2) tags.push("host-repeated");
    for (let i = 0; i < hosts; i++) {
      const h = pick(["a", "b.example:80", "a, b"]);
      if (h === "a, b") tags.push("host-repeated");
      lines.push(`Host: ${h}`);
    }
    for (let i = Math.floor(r() * 4); i > 0; i--) {
      const [v, t] = value();
      if (t !== undefined) tags.push(t);
      lines.push(`${token()}:${chance(0.8) ? " " : ""}${v}`);
    }
    // Malformed lines, now and then.
    if (chance(0.04)) lines.push(`${token()} : v`);
    if (chance(0.04)) lines.push(` folded`);
    if (chance(0.03)) lines.push(`Bad(name): v`);
    if (chance(0.03)) lines.push(`: empty`);
    if (chance(0.05)) lines.push(pick(["Connection: close", "Connection: keep-alive", "Connection: Upgrade", "Upgrade: h2c"]));
    if (chance(0.03)) {
      const e = pick(["Expect: 100-continue", "Expect: 200-ok"]);
      if (e === "Expect: 200-ok") tags.push("expect-other");
      lines.push(e);
    }
    if (chance(0.02)) {
      tags.push("limits");
      if (chance(0.5)) lines.push(`X-Big: ${"b".repeat(20_000)}`);
      else for (let i = 0; i < 120; i++) lines.push(`X-N${i}: ${i}`);
    }
    // Framing and body.
    let body = "";
    const kind = r();
    const data = "x".repeat(Math.floor(r() * 20));
    if (kind < 0.35) {
      const n = chance(0.85) ? data.length : Math.max(0, data.length + pick([-2, -1, 1, 3]));
      if (n < data.length) tags.push("pipelined"); // the rest of the data follows the request
      const cl = pick([String(n), String(n), ` ${n} `, `+${n}`, `${n}, ${n}`, `0x${n.toString(16)}`, `${n}${n}`, `${n} ${n}`]);
      if (cl === `${n}, ${n}`) tags.push("cl-repeated-same");
      lines.push(`Content-Length: ${cl}`);
      if (chance(0.1)) {
        lines.push(`Content-Length: ${pick([cl, String(n + 1)])}`);
        tags.push("cl-repeated-same");
      }
      body = data;
    } else if (kind < 0.7) {
      const te = pick(["chunked", "chunked", "chunked", "Chunked", "gzip, chunked", "chunked, gzip", "identity", " chunked", "chunked,"]);
      if (te === "gzip, chunked") tags.push("te-coding");
      lines.push(`Transfer-Encoding: ${te}`);
      if (chance(0.05)) lines.push(`Content-Length: ${data.length}`);
      for (let left = data; ; ) {
        const n = Math.min(left.length, 1 + Math.floor(r() * 8));
        if (left.length === 0) break;
        let ext = "";
        if (chance(0.1)) {
          ext = pick([";a", ";a=b", ';a="q"', ";", "; a", " ;a", ";a=", ";=b"]);
          if (ext === " ;a" || ext === "; a") tags.push("chunk-ext-bws");
          if (ext === ";a=" || ext === ";=b") tags.push("chunk-ext-bad");
        }
        body += `${hex(n)}${ext}\r\n${left.slice(0, n)}${chance(0.03) ? "" : "\r\n"}`;
        left = left.slice(n);
      }
      body += "0\r\n";
      if (chance(0.1)) body += pick(["X-T: 1\r\n", "Bad Trailer\r\n", "X-T:\x01\r\n"]);
      body += "\r\n";
    } else if (chance(0.05)) {
      body = data; // bytes without framing: the next request starts with them
      if (data.length > 0) tags.push("pipelined");
    }
    if (version === "HTTP/1.0" && lines.some((l) => /^transfer-encoding/i.test(l))) tags.push("te-http10");
    if (chance(0.03)) eol = "\n";
    s += lines.map((l) => `${l}${eol}`).join("") + "\r\n" + body;
    if (method === "CONNECT") tags.push("connect");
    return s;
  }

  return () => {
    const tags: string[] = [];
    let s = "";
    if (chance(0.05)) {
      s += pick(["\r\n", "\r\n\r\n", "\n"]);
      if (s === "\n") tags.push("leading-lf");
    }
    s += one(tags);
    if (chance(0.2)) {
      s += one(tags);
      tags.push("pipelined");
    }
    // Now and then one byte changed, added or dropped anywhere.
    if (chance(0.15)) {
      const at = Math.floor(r() * s.length);
      const b = String.fromCharCode(pick([0, 9, 10, 13, 32, 34, 44, 58, 59, 127, 128, 255, 65 + Math.floor(r() * 26)]));
      const how = r();
      s = how < 0.5 ? s.slice(0, at) + b + s.slice(at + 1) : how < 0.8 ? s.slice(0, at) + b + s.slice(at) : s.slice(0, at) + s.slice(at + 1);
    }
    return { bytes: Buffer.from(s, "latin1"), tags };
  };
}

/** The methods llhttp knows (node:http refuses any other). */
const LLHTTP_METHODS = new Set(("DELETE GET HEAD POST PUT CONNECT OPTIONS TRACE COPY LOCK MKCOL MOVE PROPFIND PROPPATCH SEARCH " +
  "UNLOCK BIND REBIND UNBIND ACL REPORT MKACTIVITY CHECKOUT MERGE M-SEARCH NOTIFY SUBSCRIBE UNSUBSCRIBE PATCH PURGE " +
  "MKCALENDAR LINK UNLINK SOURCE QUERY").split(" "));

/** Tags the bytes themselves show (a changed byte can make any request line). */
function derivetags(c: Case): Case {
  const text = c.bytes.toString("latin1");
  for (const m of text.matchAll(/(?:^|\r\n\r\n)(?:\r\n)*([^ \r\n]+) ([^ \r\n]*)/g)) {
    const method = m[1]!;
    try {
      decodeURIComponent(m[2]!); // we decode path and query for the handler; bad encoding (or not UTF-8) is a 400
    } catch {
      c.tags.push("target-bad-percent");
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method) || LLHTTP_METHODS.has(method)) continue;
    c.tags.push(LLHTTP_METHODS.has(method.toUpperCase()) ? "method-case" : "method-unknown");
  }
  // A request line without a version is HTTP/0.9's.
  if (/^(?:\r\n)*[^ \r\n]+ [^ \r\n]+\r?\n/.test(text)) c.tags.push("version-0.9");
  return c;
}

// ---- the deliberate differences (docs/http.md lists each with its reason) ----

/** Tag -> which side accepts where the other refuses ("ours" accepts, or "node" does), or "both" ways. */
const DELIBERATE: Record<string, "ours" | "node" | "both"> = {
  "method-unknown": "ours", // any token method reaches the handler; llhttp knows a fixed list
  "method-case": "ours", // methods are case-sensitive tokens: "get" is a method of its own
  "cl-repeated-same": "ours", // identical repeated Content-Length values are one value (RFC 9110 8.6)
  "te-coding": "node", // a transfer-coding we cannot decode before chunked: 501 (RFC 9112 6.1)
  "te-http10": "both", // Transfer-Encoding in HTTP/1.0: refused (RFC 9112 6.1)
  "chunk-ext-bws": "ours", // BWS before ";" in a chunk-size line is allowed (RFC 9112 7.1.1)
  "target-asterisk": "node", // "*" only with OPTIONS (RFC 9112 3.2.4)
  "target-bad-percent": "node", // path and query are decoded for the handler: bad encoding is a 400
  "host-repeated": "node", // more than one Host: 400 (RFC 9112 3.2)
  "te-empty": "node", // an empty Transfer-Encoding beside Content-Length is still both (RFC 9112 6.1)
  connect: "both", // CONNECT reaches our handler (a 2xx opens a tunnel); node:http drops it without a 'connect' listener
  "leading-lf": "node", // a bare LF is no empty line (RFC 9112 2.2 asks for CRLF)
  "version-0.9": "node", // a request line without a version (HTTP/0.9) is refused: 400
  "version-2": "node", // "HTTP/2.0" in a request line is not HTTP/2 (which starts with its preface): 505
  "request-line-ws": "node", // one SP between the parts of a request line (RFC 9112 3); no tabs, no runs
  "chunk-ext-bad": "node", // a chunk extension is a token name, then "=" and a token or quoted string (RFC 9112 7.1.1)
  "expect-other": "node", // 417 for an expectation we cannot meet, and the connection is closed (the body may follow or not)
  limits: "both", // our defaults: 64 KiB of head and 100 fields; node:http's: 16 KiB and 2000 fields
  pipelined: "ours", // requests before a malformed one are answered; node:http drops their answers at the parse error
};

/** The deliberate difference that explains a disagreement, if there is one. */
function explained(c: Case, ours: Outcome, node: Outcome): string | undefined {
  // One side saw every request the other saw, and more: a difference in what is accepted, not in how it is read.
  const prefix = (a: string[], b: string[]): boolean => a.length < b.length && a.every((x, i) => x === b[i]);
  const more = prefix(node.served, ours.served) ? "ours" : prefix(ours.served, node.served) ? "node" : "";
  for (const t of c.tags) {
    const d = DELIBERATE[t];
    if (d !== undefined && (d === more || (d === "both" && more !== ""))) return t;
  }
  return undefined;
}

/** Agreement: the handlers saw the same requests (which error status ends a stream is not compared). */
function same(a: Outcome, b: Outcome): boolean {
  return a.served.join("\n") === b.served.join("\n");
}

test(`differential against node:http (seed ${SEED})`, async () => {
  console.log(`http-differential: seed ${SEED} (HTTP_DIFF_SEED=${SEED} repeats it), ${CASES} generated cases + ${CORPUS.length} corpus cases`);
  const s = await servers();
  const next = generator(SEED);
  const cases: Case[] = [...CORPUS, ...Array.from({ length: CASES }, next)].map(derivetags);
  const deadline = Date.now() + BUDGET_MS;
  let agree = 0;
  let run = 0;
  const deliberate = new Map<string, number>();
  const unexplained: string[] = [];
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < cases.length && Date.now() < deadline) {
      const c = cases[i++]!;
      const [a, b] = await Promise.all([exchange(s.ours, c.bytes), exchange(s.node, c.bytes)]);
      const ours = outcome(a);
      const node = outcome(b);
      run++;
      if (same(ours, node)) {
        agree++;
        continue;
      }
      const why = explained(c, ours, node);
      if (why !== undefined) deliberate.set(why, (deliberate.get(why) ?? 0) + 1);
      else if (unexplained.length < 10) {
        unexplained.push(`${JSON.stringify(c.bytes.toString("latin1"))} [${c.tags.join(" ")}]\n    ours: ${JSON.stringify(ours)}\n    node: ${JSON.stringify(node)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  s.close();
  const total = [...deliberate.values()].reduce((x, y) => x + y, 0);
  console.log(`http-differential: ${run} cases: ${agree} agree, ${total} differ deliberately (${[...deliberate].map(([k, v]) => `${k} ${v}`).join(", ")}), ${unexplained.length} unexplained`);
  assert.ok(run >= CORPUS.length, `only ${run} cases ran within ${BUDGET_MS} ms`);
  assert.equal(unexplained, [], `seed ${SEED}: disagreements not listed as deliberate`);
});

test.run();
