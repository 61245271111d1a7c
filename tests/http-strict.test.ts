// silly-net-http server strictness: every malformed request is answered with
// its status and "Connection: close", and the connection is closed; limits
// and timeouts hold; nothing malformed crashes the server or leaks a task.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as net from "node:net";
import { randomBytes } from "node:crypto";
import http from "silly-net-http";
import type { ServerStream, ListenConf } from "silly-net-http";
import task from "silly/task";

type Handler = (s: ServerStream) => unknown;

async function serve(handler: Handler, extra: Partial<ListenConf> = {}) {
  const [server, err] = await http.listen({ addr: "127.0.0.1:0", handler, ...extra });
  if (server === undefined) throw new Error(`listen failed: ${err}`);
  return server;
}

/** Write `bytes`; resolve with everything received once the server has closed the connection. */
function raw(port: number, bytes: string | Buffer | (string | Buffer)[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const parts: Buffer[] = [];
    sock.on("data", (d) => parts.push(d));
    // A reset after the answer (we may still have been writing) is fine: what arrived counts.
    sock.on("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" || e.code === "EPIPE" ? undefined : reject(e)));
    sock.on("close", () => resolve(Buffer.concat(parts).toString("latin1")));
    for (const b of Array.isArray(bytes) ? bytes : [bytes]) sock.write(b);
  });
}

const ok: Handler = async (s) => {
  const [body, err] = await s.readall();
  s.respond(200, {});
  s.close(body === undefined ? `err ${err}` : `ok ${body.length}`);
};

function expectstatus(text: string, status: number, why: string): void {
  assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), `${why}: got ${JSON.stringify(text.slice(0, 120))}`);
  assert.match(text, /\r\nConnection: close\r\n/, `${why}: no Connection: close`);
}

const cases: [string, string | Buffer, number][] = [
  ["bare LF inside the head", "GET / HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n", 400],
  ["bare-LF line ends only", "GET / HTTP/1.1\nHost: x\n\n", 400],
  ["bare LF in the request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400],
  ["bare CR in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n", 400],
  ["obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  continued\r\n\r\n", 400],
  ["space before the colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400],
  ["invalid name character", "GET / HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n", 400],
  ["empty header name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400],
  ["NUL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 400],
  ["DEL in a value", "GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n", 400],
  ["missing Host on HTTP/1.1", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", 400],
  ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  ["conflicting Content-Length lines", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400],
  ["Content-Length list with different values", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd", 400],
  ["Content-Length with Transfer-Encoding", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
  ["non-numeric Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400],
  ["negative Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400],
  ["Content-Length with a sign", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nabcde", 400],
  ["huge Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n", 400],
  ["unsupported transfer-coding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501],
  ["transfer-coding not ending in chunked", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n", 400],
  ["chunked twice", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400],
  ["Transfer-Encoding in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
  ["invalid chunk size", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n", 400],
  ["chunk size with a sign", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n-2\r\nab\r\n0\r\n\r\n", 400],
  ["chunk size overflow", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\nab\r\n0\r\n\r\n", 400],
  ["chunk data without CRLF", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabXX0\r\n\r\n", 400],
  ["chunk size line without CR", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\nab\r\n0\r\n\r\n", 400],
  ["bad trailer", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nbad trailer\r\n\r\n", 400],
  ["invalid percent-encoding in the path", "GET /a%zzb HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ["truncated percent-encoding", "GET /a% HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ["percent-encoded bytes that are not UTF-8", "GET /%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ["invalid percent-encoding in the query", "GET /a?x=%g0 HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ["request-target that is no path", "GET foo HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ["raw non-ASCII byte in the target", Buffer.from("GET /\xe9 HTTP/1.1\r\nHost: x\r\n\r\n", "latin1"), 400],
  ["HTTP/2.0 request line", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505],
  ["garbage request line", "HELLO\r\n\r\n", 400],
  ["lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400],
  ["two spaces in the request line", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ["a TLS ClientHello (answered at once, not after the header timeout)", Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), 400],
  ["unknown expectation", "POST / HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\na", 417],
];

for (const [name, bytes, status] of cases) {
  test(`${status} for ${name}`, async () => {
    const server = await serve(ok);
    expectstatus(await raw(server.port, bytes), status, name);
    server.close();
  });
}

test("limits: request line 414, head bytes 431 (whole or trickled), header count 431, body 413", async () => {
  const server = await serve(ok, { limits: { requestline: 100, headerbytes: 1024, headercount: 10, body: 1000 } });
  const p = server.port;
  expectstatus(await raw(p, `GET /${"a".repeat(200)} HTTP/1.1\r\nHost: x\r\n\r\n`), 414, "long line");
  expectstatus(await raw(p, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(2000)}\r\n\r\n`), 431, "big head, one write");
  // A head that never ends: the bound applies while it is still arriving.
  expectstatus(await raw(p, ["GET / HTTP/1.1\r\nHost: x\r\n", ...Array.from({ length: 40 }, () => `X-Fill: ${"c".repeat(50)}\r\n`)]), 431, "growing head");
  expectstatus(await raw(p, `GET / HTTP/1.1\r\nHost: x\r\n${"X-N: 1\r\n".repeat(10)}\r\n`), 431, "11 fields");
  expectstatus(await raw(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n"), 413, "declared body too large");
  expectstatus(
    await raw(p, `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n300\r\n${"d".repeat(768)}\r\n300\r\n${"d".repeat(768)}\r\n0\r\n\r\n`),
    413,
    "chunked body grows too large",
  );
  // Within the limits everything is fine.
  const good = await raw(p, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n${"e".repeat(1000)}`);
  assert.match(good, /^HTTP\/1\.1 200 OK\r\n[^]*ok 1000$/);
  const same = await raw(p, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\nConnection: close\r\n\r\nab");
  assert.match(same, /^HTTP\/1\.1 200 OK\r\n[^]*ok 2$/);
  server.close();
});

test("slowloris: a head trickling a byte at a time gets 408 once timeouts.header has passed", async () => {
  const server = await serve(ok, { timeouts: { header: 200, idle: 5000 } });
  const t0 = Date.now();
  const text = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(server.port, "127.0.0.1");
    const head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + "z".repeat(1000);
    let i = 0;
    let got = "";
    const timer = setInterval(() => {
      if (i < head.length) sock.write(head[i++]!);
    }, 20);
    sock.on("data", (d) => (got += d.toString("latin1")));
    sock.on("error", reject);
    sock.on("close", () => {
      clearInterval(timer);
      resolve(got);
    });
  });
  const elapsed = Date.now() - t0;
  expectstatus(text, 408, "slowloris");
  assert.ok(elapsed >= 150 && elapsed < 1000, `closed after ${elapsed} ms`);
  server.close();
});

test("a stalled body: the handler's read fails, the client gets 408 and the connection closes", async () => {
  let readerr: string | undefined;
  const server = await serve(async (s) => {
    const [, err] = await s.readall();
    readerr = err;
    s.close("not sent"); // the server already answered
  }, { timeouts: { body: 150 } });
  expectstatus(await raw(server.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"), 408, "stalled body");
  assert.match(readerr ?? "", /timed out/);
  // The same for a chunked body stalled inside a chunk-size line, before one, or before the final CRLF.
  const chunked = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  expectstatus(await raw(server.port, `${chunked}1`), 408, "stalled inside a chunk-size line");
  expectstatus(await raw(server.port, `${chunked}2\r\nab\r\n`), 408, "stalled before a chunk-size line");
  expectstatus(await raw(server.port, `${chunked}2\r\nab\r\n0\r\n`), 408, "stalled before the final CRLF");
  expectstatus(await raw(server.port, `${chunked}2\r\nab\r\n0\r\nX-T: 1\r\n`), 408, "stalled inside the trailer section");
  server.close();
});

test("empty lines before a request line are skipped, two of them too; a flood of them is not", async () => {
  const server = await serve(ok, { limits: { headerbytes: 1024 } });
  for (const pre of ["\r\n", "\r\n\r\n", "\r\n\r\n\r\n"]) {
    const text = await raw(server.port, `${pre}GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*ok 0$/, JSON.stringify(pre));
  }
  // Between two requests on one connection as well.
  const two = await raw(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.is(two.match(/HTTP\/1\.1 200 OK/g)?.length, 2);
  expectstatus(await raw(server.port, "\r\n".repeat(2000)), 400, "a flood of empty lines");
  server.close();
});

test("chunk extensions follow their grammar: a name is required, values are tokens or quoted strings", async () => {
  const { parsechunksize } = await import("../packages/silly-net-http/src/h1/chunked.js");
  const line = (t: string) => Buffer.from(`${t}\r\n`);
  for (const good of ["1;a", "1;a=b", "1 ; a = b", "1;a=\"x y\\\"z\"", "1;a;b=c", "1\t;a"]) assert.is(parsechunksize(line(good)), 1, good);
  for (const bad of ["2;", "2; ", "2;=x", "2;a=", "2;a=\"open", "2;a b", "2;a=b c", "2 ", "2;a=\"\x01\"", "2;a\"=b"]) {
    assert.type(parsechunksize(line(bad)), "string", JSON.stringify(bad));
  }
  const server = await serve(ok);
  expectstatus(await raw(server.port, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2;\r\nab\r\n0\r\n\r\n"), 400, "2;");
  server.close();
});

test("the shared ticker runs as often as the shortest waiting timeout asks, and slows back down", async () => {
  const { tickperiod } = await import("../packages/silly-net-http/src/h1/wire.js");
  let during = 0;
  const server = await serve((s) => {
    during = tickperiod(); // the client waits for this answer with a 50 ms timeout
    s.close("ok");
  });
  const [res] = await http.get(`http://${server.addr}/`, {}, { timeout: 50 });
  assert.is(res?.status, 200);
  assert.is(during, 5, "a 50 ms timeout is checked every 5 ms");
  // Left waiting: the server's kept-alive connection (60 s idle timeout), checked once a second.
  assert.is(tickperiod(), 1000);
  server.close();
});

test("garbage does not crash the server or leak tasks; it still serves afterwards", async () => {
  const server = await serve(ok, { timeouts: { header: 300, idle: 300, body: 300 } });
  const before = task.inspect().length;
  const junk: (string | Buffer)[] = [];
  for (let i = 0; i < 60; i++) junk.push(randomBytes(1 + ((i * 37) % 300)));
  for (let i = 0; i < 30; i++) {
    // valid-looking prefixes with random tails
    junk.push(Buffer.concat([Buffer.from("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"), randomBytes(20 + i)]));
    junk.push(Buffer.concat([Buffer.from("GET /"), randomBytes(10 + i), Buffer.from("\r\n\r\n")]));
  }
  const answers = await Promise.all(junk.map((j) => raw(server.port, j)));
  for (const a of answers) {
    if (a !== "") assert.match(a, /^HTTP\/1\.1 [45]\d\d /, JSON.stringify(a.slice(0, 60)));
  }
  const good = await raw(server.port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.match(good, /^HTTP\/1\.1 200 OK\r\n[^]*ok 0$/);
  assert.is(task.inspect().length, before, "tasks left behind");
  server.close();
});

// ---- the pure pieces, directly ----

test("parselength, parsechunksize, parsetarget", async () => {
  const { parselength, parserequest, HeadError } = await import("../packages/silly-net-http/src/h1/parse.js");
  const { parsechunksize } = await import("../packages/silly-net-http/src/h1/chunked.js");
  const { parsetarget } = await import("../packages/silly-net-http/src/url.js");
  assert.is(parselength("0"), 0);
  assert.is(parselength("42"), 42);
  assert.is(parselength("7, 7,7"), 7);
  assert.type(parselength("7, 8"), "string");
  assert.type(parselength(""), "string");
  assert.type(parselength("1 2"), "string");
  assert.type(parselength("0x10"), "string");
  assert.type(parselength("9".repeat(16)), "string");
  const line = (t: string) => Buffer.from(`${t}\r\n`);
  assert.is(parsechunksize(line("1a")), 26);
  assert.is(parsechunksize(line("FF;name=value")), 255);
  assert.is(parsechunksize(line("10 ;x")), 16);
  assert.type(parsechunksize(line("")), "string");
  assert.type(parsechunksize(line("g")), "string");
  assert.type(parsechunksize(line("10 x")), "string");
  assert.type(parsechunksize(line("1;a\x01")), "string");
  assert.type(parsechunksize(line("1".repeat(14))), "string");
  const t = parsetarget("GET", "http://example.com/a%2Fb?q=%41+x&q=2");
  assert.ok(typeof t !== "string");
  if (typeof t !== "string") {
    assert.equal([t.rawpath, t.path, t.rawquery], ["/a%2Fb", "/a/b", "q=%41+x&q=2"]);
    assert.equal({ ...t.query }, { q: "2" });
  }
  const bare = parsetarget("GET", "https://example.com");
  assert.ok(typeof bare !== "string" && bare.path === "/");
  assert.equal(parsetarget("CONNECT", "example.com:443"), { rawpath: "example.com:443", rawquery: "", path: "example.com:443", query: undefined });
  assert.type(parsetarget("GET", "*"), "string");
  assert.ok(typeof parsetarget("OPTIONS", "*") !== "string");
  const limits = { requestline: 100, headercount: 5 };
  const ok = parserequest(Buffer.from("\r\nPOST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"), limits);
  assert.ok(!(ok instanceof HeadError));
  if (!(ok instanceof HeadError)) assert.equal([ok.method, ok.target, ok.minor, ok.length, ok.keepalive], ["POST", "/x", 1, 3, false]);
  const tenok = parserequest(Buffer.from("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), limits);
  assert.ok(!(tenok instanceof HeadError) && tenok.keepalive && tenok.minor === 0);
});

test("buildheader: lower-case names, OWS trimmed, repeats joined (set-cookie with a newline), latin1 values, plain keys", async () => {
  const { parserequest, requestheader: buildheader, HeadError } = await import("../packages/silly-net-http/src/h1/parse.js");
  const head = Buffer.from(
    "GET / HTTP/1.1\r\nHOST: h\r\nX-Multi:one\r\nx-multi: \t two \t\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n" +
      "X-Empty:\r\nX-Spaces:   \r\nX-Odd-Name-Here: v\r\nconstructor: c\r\n__proto__: p\r\nX-Latin: caf\xe9\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    "latin1",
  );
  const req = parserequest(head, { requestline: 100, headercount: 50 });
  assert.ok(!(req instanceof HeadError));
  if (req instanceof HeadError) return;
  const h = buildheader(req);
  assert.equal(Object.entries(h), [
    ["host", "h"], ["x-multi", "one, two"], ["set-cookie", "a=1\nb=2"], ["x-empty", ""], ["x-spaces", ""], ["x-odd-name-here", "v"],
    ["constructor", "c"], ["__proto__", "p"], ["x-latin", "caf\u00e9"], ["sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="],
  ]);
  assert.is(h["__proto__"], "p");
});

test.run();
