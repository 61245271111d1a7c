// silly-net-http server, driven by Node's own node:http / node:https clients
// and by raw node:net sockets (pipelining, upgrade, HTTP/1.0).
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as nodehttp from "node:http";
import * as nodehttps from "node:https";
import * as net from "node:net";
import * as nodetls from "node:tls";
import * as nodehttp2 from "node:http2";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "silly-net-http";
import type { ServerStream, ListenConf } from "silly-net-http";
import errno from "silly/errno";
import logger from "silly/logger";
import task from "silly/task";

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

type Handler = (s: ServerStream) => unknown;

async function serve(handler: Handler, extra: Partial<ListenConf> = {}) {
  const [server, err] = await http.listen({ addr: "127.0.0.1:0", handler, ...extra });
  if (server === undefined) throw new Error(`listen failed: ${err}`);
  return server;
}

interface NodeResponse {
  status: number;
  headers: nodehttp.IncomingHttpHeaders;
  body: Buffer;
}

/** One request with node:http; resolves with the whole response. */
function nodereq(
  port: number,
  opts: nodehttp.RequestOptions & { body?: Buffer | string | Buffer[] } = {},
): Promise<NodeResponse> {
  return new Promise((resolve, reject) => {
    const { body, ...o } = opts;
    const req = nodehttp.request({ host: "127.0.0.1", port, agent: false, ...o }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    if (Array.isArray(body)) for (const b of body) req.write(b);
    else if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Write `bytes` on a raw socket; resolve with everything received once the server closes. */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const parts: Buffer[] = [];
    sock.on("data", (d) => parts.push(d));
    sock.on("error", reject);
    sock.on("close", () => resolve(Buffer.concat(parts).toString("latin1")));
    sock.write(bytes);
  });
}

/** `p`, or a failure naming `what` after `ms`. */
function within<T>(p: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

const str = (r: [Buffer, undefined] | [undefined, string]): string => (r[0] === undefined ? `error ${r[1]}` : r[0].toString());

const echo: Handler = async (s) => {
  const [body, err] = await s.readall();
  if (body === undefined) return void s.close(`error ${err}`);
  s.respond(200, { "content-type": "application/octet-stream", "x-method": s.method });
  await s.close(body);
};

test("node:http GET: path and query decoded, headers lower-case and joined, response framing", async () => {
  let seen: Record<string, unknown> = {};
  const server = await serve((s) => {
    seen = {
      method: s.method, path: s.path, rawpath: s.rawpath, target: s.target, query: { ...s.query },
      version: s.version, ua: s.header["user-agent"], multi: s.header["x-multi"], host: s.header["host"],
      remote: s.remoteaddr.startsWith("127.0.0.1:"), proto: s.header["constructor"],
    };
    s.respond(200, { "content-type": "text/plain", "x-list": ["a", "b"] });
    s.close("hello");
  });
  const res = await nodereq(server.port, {
    path: "/a%20b/%E4%BD%A0?x=1&y=a+b&z=%26&x=2&flag",
    headers: { "User-Agent": "test-agent", "X-Multi": ["one", "two"] },
  });
  assert.is(res.status, 200);
  assert.is(res.body.toString(), "hello");
  assert.is(res.headers["content-length"], "5");
  assert.is(res.headers["content-type"], "text/plain");
  assert.is(res.headers["x-list"], "a, b");
  assert.ok(res.headers["date"]);
  assert.equal(seen, {
    method: "GET", path: "/a b/你", rawpath: "/a%20b/%E4%BD%A0", target: "/a%20b/%E4%BD%A0?x=1&y=a+b&z=%26&x=2&flag",
    query: { x: "2", y: "a b", z: "&", flag: "" }, version: "HTTP/1.1", ua: "test-agent", multi: "one, two",
    host: `127.0.0.1:${server.port}`, remote: true, proto: undefined,
  });
  server.close();
});

test("bodies of 0 B, 1 B, 64 KiB and 8 MiB come through intact, fixed-length and chunked, both ways", async () => {
  const server = await serve(echo);
  for (const size of [0, 1, 64 * 1024, 8 * 1024 * 1024]) {
    const data = randomBytes(size);
    // fixed length
    const a = await nodereq(server.port, { method: "POST", body: data, headers: { "content-length": size } });
    assert.is(a.status, 200);
    assert.is(a.headers["content-length"], String(size));
    assert.ok(a.body.equals(data), `fixed ${size}`);
    // chunked request (several writes, no content-length)
    const pieces = size === 0 ? [] : [data.subarray(0, size >> 1), data.subarray(size >> 1)];
    const b = await nodereq(server.port, { method: "PUT", body: pieces });
    assert.is(b.status, 200);
    assert.ok(b.body.equals(data), `chunked ${size}`);
  }
  server.close();
});

test("streaming: read() piece by piece, write() makes a chunked response", async () => {
  const server = await serve(async (s) => {
    let total = 0;
    let pieces = 0;
    for (;;) {
      const [piece, err] = await s.read();
      if (piece === undefined) {
        assert.is(err, errno.EOF);
        break;
      }
      total += piece.length;
      pieces++;
    }
    s.respond(200, { "content-type": "text/plain" });
    await s.write(`total=${total}\n`);
    await s.write(Buffer.from(`pieces>0=${pieces > 0}\n`));
    await s.write(""); // an empty write sends nothing (it would end a chunked body)
    await s.close("end\n");
  });
  const data = randomBytes(300_000);
  const res = await nodereq(server.port, { method: "POST", body: [data.subarray(0, 1000), data.subarray(1000)] });
  assert.is(res.headers["transfer-encoding"], "chunked");
  assert.is(res.headers["content-length"], undefined);
  assert.is(res.body.toString(), "total=300000\npieces>0=true\nend\n");
  server.close();
});

test("respond then close(body) without content-length: one write with Content-Length (seed style)", async () => {
  const server = await serve((s) => {
    if (s.path === "/empty") {
      s.respond(404, {});
      s.close();
      return;
    }
    s.respond(200, { "content-type": "text/plain" });
    s.close("Not a WebSocket request");
  });
  const text = await raw(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /empty HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
  assert.match(first!, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(first!, /\r\nContent-Length: 23\r\n/);
  assert.ok(first!.endsWith("\r\n\r\nNot a WebSocket request"));
  assert.match(second!, /^HTTP\/1\.1 404 Not Found\r\n/);
  assert.match(second!, /\r\nContent-Length: 0\r\n/);
  assert.match(second!, /\r\nConnection: close\r\n/);
  server.close();
});

test("pipelining: three requests in one write are answered in order", async () => {
  const order: string[] = [];
  const server = await serve(async (s) => {
    order.push(`start ${s.path}`);
    if (s.path === "/1") await new Promise((r) => setTimeout(r, 20)); // a slow first handler must not let /2 overtake
    const [body] = await s.readall();
    order.push(`end ${s.path}`);
    s.respond(200, {});
    s.close(`${s.path}:${body!.toString()}`);
  });
  const text = await raw(
    server.port,
    "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" +
      "POST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n" +
      "GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  const bodies = text.split(/HTTP\/1\.1 200 OK\r\n/).slice(1).map((r) => r.slice(r.indexOf("\r\n\r\n") + 4));
  assert.equal(bodies, ["/1:abc", "/2:de", "/3:"]);
  assert.equal(order, ["start /1", "end /1", "start /2", "end /2", "start /3", "end /3"]);
  server.close();
});

test("a handler's unread body is skipped so the next request on the connection works", async () => {
  const server = await serve((s) => {
    s.respond(200, {});
    s.close(s.path);
  });
  const text = await raw(
    server.port,
    "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello" +
      "POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n" +
      "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  assert.equal(text.match(/\r\n\r\n\/[abc]/g), ["\r\n\r\n/a", "\r\n\r\n/b", "\r\n\r\n/c"]);
  server.close();
});

test("chunked request trailers are parsed and exposed", async () => {
  let trailer: Record<string, string> | undefined;
  const server = await serve(async (s) => {
    const [body] = await s.readall();
    trailer = s.trailer;
    s.close(body!);
  });
  const text = await raw(
    server.port,
    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      "4;ext=1\r\nwiki\r\n5\r\npedia\r\n0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n",
  );
  assert.ok(text.endsWith("\r\n\r\nwikipedia"));
  assert.equal({ ...trailer }, { "x-checksum": "abc", "x-other": "1" });
  server.close();
});

test("HEAD gets the head only; 204 and 304 carry no body", async () => {
  const server = await serve((s) => {
    if (s.path === "/204") s.respond(204, {});
    else if (s.path === "/304") s.respond(304, { etag: '"x"' });
    else s.respond(200, { "content-type": "text/plain" });
    s.close(s.path === "/" ? "twelve bytes" : "ignored body");
  });
  const text = await raw(
    server.port,
    "HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\n\r\nGET /304 HTTP/1.1\r\nHost: x\r\n\r\n" +
      "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
  );
  const parts = text.split(/(?=HTTP\/1\.1 )/);
  assert.is(parts.length, 4);
  assert.match(parts[0]!, /^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 12\r\n[^]*\r\n\r\n$/);
  assert.match(parts[1]!, /^HTTP\/1\.1 204 No Content\r\n/);
  assert.ok(parts[1]!.endsWith("\r\n\r\n") && !/Content-Length|Transfer-Encoding/i.test(parts[1]!));
  assert.match(parts[2]!, /^HTTP\/1\.1 304 Not Modified\r\n/);
  assert.ok(parts[2]!.endsWith("\r\n\r\n") && !/Transfer-Encoding/i.test(parts[2]!));
  assert.ok(parts[3]!.endsWith("\r\n\r\ntwelve bytes"));
  // node:http agrees
  const head = await nodereq(server.port, { method: "HEAD" });
  assert.is(head.body.length, 0);
  assert.is(head.headers["content-length"], "12");
  server.close();
});

test("HTTP/1.0: close-delimited streaming body, no chunked; keep-alive only when asked", async () => {
  const server = await serve(async (s) => {
    s.respond(200, {});
    if (s.path === "/stream") {
      await s.write("part1 ");
      await s.close("part2");
    } else {
      s.close(`v=${s.version}`);
    }
  });
  const a = await raw(server.port, "GET /stream HTTP/1.0\r\n\r\n");
  assert.match(a, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(a, /\r\nConnection: close\r\n/);
  assert.not.match(a, /Transfer-Encoding|Content-Length/i);
  assert.ok(a.endsWith("\r\n\r\npart1 part2"));
  // keep-alive asked: two requests on one connection, the second closes
  const b = await raw(server.port, "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /y HTTP/1.0\r\n\r\n");
  const parts = b.split(/(?=HTTP\/1\.1 )/);
  assert.is(parts.length, 2);
  assert.match(parts[0]!, /\r\nConnection: keep-alive\r\n[^]*v=HTTP\/1\.0$/);
  assert.match(parts[1]!, /\r\nConnection: close\r\n[^]*v=HTTP\/1\.0$/);
  server.close();
});

test("Expect: 100-continue: 100 goes out when the handler first reads the body", async () => {
  const server = await serve(echo);
  const res = await new Promise<{ cont: boolean; body: string }>((resolve, reject) => {
    let cont = false;
    const req = nodehttp.request(
      { host: "127.0.0.1", port: server.port, method: "POST", agent: false, headers: { expect: "100-continue", "content-length": 4 } },
      (r) => {
        const parts: Buffer[] = [];
        r.on("data", (d: Buffer) => parts.push(d));
        r.on("end", () => resolve({ cont, body: Buffer.concat(parts).toString() }));
      },
    );
    req.on("continue", () => {
      cont = true;
      req.end("data");
    });
    req.on("error", reject);
  });
  assert.equal(res, { cont: true, body: "data" });
  // A handler that never reads the body answers without 100 and closes the connection.
  const server2 = await serve((s) => s.close("no thanks"));
  const text = await raw(server2.port, "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  assert.not.match(text, /100 Continue/);
  assert.match(text, /\r\nConnection: close\r\n/);
  assert.ok(text.endsWith("no thanks"));
  server.close();
  server2.close();
});

test("upgrade: bytes after the head stay in the conn; the server leaves the conn to the handler", async () => {
  let after: unknown;
  const server = await serve(async (s) => {
    assert.is(s.header["upgrade"], "test-proto");
    // No body is read for an upgrade request.
    assert.equal(await s.read(), [undefined, errno.EOF]);
    await s.respond(101, { upgrade: "test-proto", connection: "Upgrade" });
    const conn = s.conn;
    const [extra] = await conn.read(5);
    await conn.write(`got:${extra!.toString()}|`);
    // Answer the next message from another task, after this handler has returned.
    task.fork(async () => {
      const [msg] = await conn.read(4);
      await conn.write(`re:${msg!.toString()}`);
      conn.close();
    });
    after = s.respond(200, {}); // the response is over: no longer possible
  });
  const text = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(server.port, "127.0.0.1");
    let got = "";
    sock.on("data", (d) => {
      got += d.toString("latin1");
      if (got.endsWith("got:hello|")) sock.write("ping"); // sent after the handler returned
    });
    sock.on("error", reject);
    sock.on("close", () => resolve(got));
    sock.write("GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: test-proto\r\nConnection: Upgrade\r\n\r\nhello");
  });
  assert.match(text, /^HTTP\/1\.1 101 Switching Protocols\r\nupgrade: test-proto\r\nconnection: Upgrade\r\n\r\ngot:hello\|re:ping$/);
  assert.equal(await after, [false, "stream.respond: the response has already started"]);
  server.close();
});

test("an Upgrade field without Connection: upgrade is an ordinary request: body read, connection kept", async () => {
  const server = await serve(async (s) => {
    const [body] = await s.readall();
    s.close(`${s.path} ${body!.toString()}`);
  });
  // curl's h2c attempt on a POST, and an Upgrade the server does not take up.
  const text = await raw(
    server.port,
    "POST /a HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\nConnection: HTTP2-Settings\r\nContent-Length: 5\r\n\r\nhello" +
      "POST /b HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, close\r\nContent-Length: 3\r\n\r\nabc",
  );
  const parts = text.split(/(?=HTTP\/1\.1 )/);
  assert.is(parts.length, 2, text);
  assert.ok(parts[0]!.endsWith("/a hello") && !/Connection: close/.test(parts[0]!), parts[0]);
  assert.ok(parts[1]!.endsWith("/b abc"), parts[1]);
  server.close();
});

test("transfer-encoding: chunked given by the handler: close(body), closewrite() and returning all frame the body", async () => {
  const server = await serve(async (s) => {
    s.respond(200, { "transfer-encoding": "chunked" });
    if (s.path === "/close") return void s.close("whole body");
    if (s.path === "/closewrite") return void s.closewrite();
    // "/return": the handler returns without a write
  });
  const agent = new nodehttp.Agent({ keepAlive: true, maxSockets: 1 });
  for (const path of ["/close", "/closewrite", "/return", "/close"]) {
    const res = await nodereq(server.port, { path, agent });
    assert.is(res.headers["transfer-encoding"], "chunked", path);
    assert.is(res.body.toString(), path === "/close" ? "whole body" : "", path);
    const [ours, err] = await http.get(`http://${server.addr}${path}`, {}, { timeout: 5000 });
    assert.is(ours?.body.toString(), path === "/close" ? "whole body" : "", `${path}: ${err}`);
  }
  const text = await raw(server.port, "GET /closewrite HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.ok(text.endsWith("\r\n\r\n0\r\n\r\n"), JSON.stringify(text));
  agent.destroy();
  server.close();
});

test("response trailers: close(body, trailer) sends them after a chunked body; a content-length leaves them out", async () => {
  const server = await serve(async (s) => {
    if (s.path === "/fixed") {
      s.respond(200, { "content-length": 2 });
      return void s.close("ok", { "x-dropped": "1" });
    }
    s.respond(200, { trailer: "x-checksum" });
    if (s.path === "/stream") await s.write("part ");
    await s.close("end", { "x-checksum": "c0ffee", "x-list": ["a", "b"] });
  });
  for (const path of ["/stream", "/whole"]) {
    const res = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
      nodehttp.get({ host: "127.0.0.1", port: server.port, path, agent: false }, (r) => {
        let body = "";
        r.on("data", (d) => (body += d));
        r.on("end", () => resolve({ body, trailers: r.trailers }));
      }).on("error", reject);
    });
    assert.is(res.body, path === "/stream" ? "part end" : "end");
    assert.equal(res.trailers, { "x-checksum": "c0ffee", "x-list": "a, b" });
    const [ours] = await http.get(`http://${server.addr}${path}`);
    assert.equal({ ...ours?.trailer }, { "x-checksum": "c0ffee", "x-list": "a, b" });
  }
  const fixed = await raw(server.port, "GET /fixed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.ok(fixed.endsWith("\r\n\r\nok") && !/x-dropped/.test(fixed), fixed);
  const s2 = await serve((s) => assert.throws(() => s.close("x", { "content-length": "1" }), /cannot be sent as a trailer/));
  await nodereq(s2.port, {});
  s2.close();
  server.close();
});

test("CONNECT: a 2xx answer opens a tunnel both ways; another answer closes the connection", async () => {
  let ours = "";
  const server = await serve(async (s) => {
    if (s.method !== "CONNECT") return void s.close("plain");
    if (s.path !== "allowed.example:443" && s.path !== ours) return void s.respond(403, {}).then(() => s.close("no"));
    assert.equal(await s.read(), [undefined, errno.EOF], "no request body before the answer");
    s.respond(200, {});
    await s.write("welcome;");
    for (;;) {
      const [d] = await s.read();
      if (d === undefined) break;
      await s.write(`echo:${d.toString()};`);
      if (d.toString().includes("bye")) break;
    }
    // returning closes the tunnel
  });
  ours = server.addr;
  const tunnel = await new Promise<string>((resolve, reject) => {
    const sock = net.connect(server.port, "127.0.0.1");
    let got = "";
    sock.on("data", (d) => {
      got += d.toString("latin1");
      if (got.endsWith("welcome;")) sock.write("bye");
    });
    sock.on("error", reject);
    sock.on("close", () => resolve(got));
    sock.write("CONNECT allowed.example:443 HTTP/1.1\r\nHost: allowed.example:443\r\n\r\n");
  });
  assert.match(tunnel, /^HTTP\/1\.1 200 OK\r\n/);
  assert.not.match(tunnel, /Content-Length|Transfer-Encoding|Connection:/i, "a 2xx to CONNECT has no framing (RFC 9110 9.3.6)");
  assert.ok(tunnel.endsWith("\r\n\r\nwelcome;echo:bye;"), JSON.stringify(tunnel));
  const refused = await raw(server.port, "CONNECT other.example:443 HTTP/1.1\r\nHost: other.example:443\r\n\r\n");
  assert.match(refused, /^HTTP\/1\.1 403 Forbidden\r\n[^]*Connection: close\r\n[^]*no$/);
  // Our client opens the same kind of tunnel (to the URL's host:port): read() and write() carry its bytes.
  const [c, err] = await http.request("CONNECT", `http://${server.addr}/`);
  if (c === undefined) throw new Error(err);
  const [head] = await c.readheader();
  assert.is(head?.status, 200);
  assert.is(str(await c.read()), "welcome;");
  await c.write("bye");
  assert.is(str(await c.read()), "echo:bye;");
  assert.equal(await c.read(), [undefined, errno.EOF]);
  c.close();
  server.close();
});

test("methods are not screened: any token reaches the handler, case kept", async () => {
  const seen: string[] = [];
  const server = await serve((s) => {
    seen.push(s.method);
    s.close(s.method);
  });
  const text = await raw(server.port, "PROPFIND / HTTP/1.1\r\nHost: x\r\n\r\nget / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  assert.equal(seen, ["PROPFIND", "get"]);
  assert.ok(text.endsWith("get"));
  server.close();
});

test("lingering close: 50 times in a row, a client that writes a 9 MiB body before reading gets the 413", async () => {
  const server = await serve(async (s) => {
    const [, err] = await s.readall();
    if (err !== undefined) return; // the server has answered 413 itself
    s.close("unexpected");
  });
  const piece = Buffer.alloc(1024 * 1024, 0x78);
  const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n")]);
  /** Write the whole request, then read the answer through the server's end. */
  const upload = (run: number, head: string, body: Buffer[]): Promise<string> => {
    let sock!: net.Socket;
    const answer = new Promise<string>((resolve, reject) => {
      sock = net.connect(server.port, "127.0.0.1");
      sock.pause(); // read nothing until the whole body is written
      sock.on("error", (e) => reject(new Error(`run ${run}: ${e.message}`)));
      sock.write(head);
      for (let i = 0; i < body.length - 1; i++) sock.write(body[i]!);
      sock.write(body[body.length - 1]!, () => {
        let got = "";
        sock.on("data", (d) => (got += d.toString("latin1")));
        sock.on("end", () => resolve(got));
        sock.resume();
      });
    });
    return within(answer, `run ${run}: the answer and the server's FIN`).finally(() => sock.destroy());
  };
  for (let run = 0; run < 50; run++) {
    // Refused once 8 MiB of a chunked body have been read ...
    const chunked = await upload(run, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", [...Array(9).fill(chunk), Buffer.from("0\r\n\r\n")]);
    assert.match(chunked, /^HTTP\/1\.1 413 Content Too Large\r\n[^]*Connection: close\r\n/, `run ${run}, chunked`);
    // ... and at the head, by its Content-Length: all 9 MiB are still to come.
    const declared = await upload(run, `POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${9 * piece.length}\r\n\r\n`, Array(9).fill(piece));
    assert.match(declared, /^HTTP\/1\.1 413 Content Too Large\r\n[^]*Connection: close\r\n/, `run ${run}, declared`);
  }
  server.close();
});

test("a throwing handler: logged with its stack, the client gets 500, the server keeps serving", async () => {
  const lines: string[] = [];
  const prev = logger.setsink((l) => lines.push(l));
  try {
    const server = await serve((s) => {
      if (s.path === "/throw") throw new Error("boom in handler");
      if (s.path === "/late") {
        s.respond(200, {});
        void s.write("partial");
        throw new Error("boom after the head");
      }
      if (s.path === "/silent") return; // returns without responding
      s.close("fine");
    });
    const a = await nodereq(server.port, { path: "/throw" });
    assert.is(a.status, 500);
    assert.is(a.headers["connection"], "close");
    const b = await nodereq(server.port, { path: "/" });
    assert.equal([b.status, b.body.toString()], [200, "fine"]);
    const c = await nodereq(server.port, { path: "/silent" });
    assert.is(c.status, 500);
    // After the head went out, the connection is closed: the client sees a truncated body.
    const d = await nodereq(server.port, { path: "/late" }).then(
      () => "completed",
      (e: Error) => e.message,
    );
    assert.is.not(d, "completed");
    const e = await nodereq(server.port, { path: "/" });
    assert.is(e.status, 200);
    const log = lines.join("");
    assert.match(log, /boom in handler/);
    assert.match(log, /at .*http-server\.test\.ts/); // the stack
    assert.match(log, /boom after the head/);
    server.close();
  } finally {
    logger.setsink(prev);
  }
});

test("200 concurrent keep-alive clients are all answered", async () => {
  const server = await serve(async (s) => {
    const [body] = await s.readall();
    s.respond(200, { "content-type": "text/plain" });
    s.close(`${s.query["i"]}:${body!.length}`);
  });
  const agent = new nodehttp.Agent({ keepAlive: true, maxSockets: 200 });
  const sockets = new Set<net.Socket>();
  const one = (i: number): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = nodehttp.request({ host: "127.0.0.1", port: server.port, path: `/?i=${i}`, method: "POST", agent }, (res) => {
        sockets.add(res.socket);
        let t = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (t += d));
        res.on("end", () => resolve(t));
      });
      req.on("error", reject);
      req.end("x".repeat(i));
    });
  for (let round = 0; round < 3; round++) {
    const got = await Promise.all(Array.from({ length: 200 }, (_, i) => one(i)));
    assert.equal(got, Array.from({ length: 200 }, (_, i) => `${i}:${i}`));
  }
  assert.ok(sockets.size >= 100 && sockets.size <= 200, `sockets used: ${sockets.size}`);
  agent.destroy();
  server.close();
});

test("idle keep-alive connections are closed after timeouts.idle", async () => {
  const server = await serve((s) => s.close("ok"), { timeouts: { idle: 150 } });
  const t0 = Date.now();
  const text = await raw(server.port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  assert.match(text, /^HTTP\/1\.1 200 OK\r\n[^]*ok$/); // answered, then closed without another word
  assert.ok(Date.now() - t0 >= 100, "closed too early");
  server.close();
});

test("server.close(): stops accepting, closes idle keep-alive connections, finishes requests in flight", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered!: () => void;
  const inflight = new Promise<void>((r) => (entered = r));
  const server = await serve(async (s) => {
    if (s.path === "/slow") {
      entered();
      await gate;
    }
    s.close(s.path);
  });
  const port = server.port;
  // an idle keep-alive connection
  const idle = net.connect(port, "127.0.0.1");
  const idleclosed = new Promise<string>((resolve) => {
    let t = "";
    idle.on("data", (d) => (t += d.toString()));
    idle.on("close", () => resolve(t));
  });
  idle.write("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
  await new Promise<void>((r) => idle.once("data", () => r()));
  const slow = raw(port, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  await inflight;
  assert.equal(server.close(), [true, undefined]);
  assert.equal(server.close(), [false, "server.close: the server is already closed"]);
  assert.match(await idleclosed, /\/first$/);
  release();
  const text = await slow;
  assert.match(text, /\r\nConnection: close\r\n[^]*\/slow$/);
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    s.on("connect", () => {
      s.destroy();
      resolve("connected");
    });
  });
  assert.is(refused, "ECONNREFUSED");
});

test("HTTPS: node:https with the test CA; SNI picks between two certificates", async () => {
  const server = await serve((s) => s.close(`secure ${s.path}`), {
    certs: [
      { cert: fixture("localhost.pem"), key: fixture("localhost-key.pem") },
      { cert: fixture("other.pem"), key: fixture("other-key.pem") },
    ],
  });
  const ca = fixture("ca.pem");
  const body = await new Promise<string>((resolve, reject) => {
    nodehttps
      .get({ host: "localhost", port: server.port, path: "/x", ca, agent: false }, (res) => {
        let t = "";
        res.on("data", (d) => (t += d));
        res.on("end", () => resolve(t));
      })
      .on("error", reject);
  });
  assert.is(body, "secure /x");
  const names = async (servername: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = nodetls.connect({ host: "127.0.0.1", port: server.port, servername, ca }, () => {
        const cn = String(s.getPeerCertificate().subject.CN);
        s.end();
        resolve(cn);
      });
      s.on("error", reject);
    });
  assert.is(await names("other.test"), "other.test");
  assert.is(await names("localhost"), "localhost");
  // our client, with the CA
  const [res, err] = await http.get(`https://localhost:${server.port}/ours`, {}, { ca });
  assert.is(err, undefined);
  assert.is(res!.body.toString(), "secure /ours");
  server.close();
});

test("HTTP/2 when ALPN picks h2: same stream API, bodies both ways, errors; HTTP/1.1 still served", async () => {
  const lines: string[] = [];
  const prev = logger.setsink((l) => lines.push(l));
  const seen: unknown[] = [];
  const server = await serve(
    async (s) => {
      if (s.path === "/throw") throw new Error("h2 boom");
      if (s.path === "/stream") {
        s.respond(200, { "content-type": "text/plain", connection: "keep-alive" }); // connection fields are dropped on h2
        await s.write("a");
        await s.write(Buffer.from("b"));
        return; // finished for us
      }
      if (s.path === "/empty") {
        s.respond(204, {});
        return void s.close("dropped");
      }
      const [body, err] = await s.readall();
      seen.push({ v: s.version, m: s.method, p: s.path, q: { ...s.query }, host: s.header["host"], x: s.header["x-test"], err });
      if (body === undefined) return;
      s.respond(200, { "content-type": "application/octet-stream", "set-cookie": ["a=1", "b=2"] });
      s.close(body);
    },
    {
      certs: [{ cert: fixture("localhost.pem"), key: fixture("localhost-key.pem") }],
      alpnprotos: ["h2", "http/1.1"],
      limits: { body: 100_000 },
    },
  );
  const ca = fixture("ca.pem");
  const client = nodehttp2.connect(`https://localhost:${server.port}`, { ca });
  const h2req = (headers: nodehttp2.OutgoingHttpHeaders, body?: Buffer): Promise<{ status: number; headers: nodehttp2.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const req = client.request(headers);
      const parts: Buffer[] = [];
      let h: nodehttp2.IncomingHttpHeaders = {};
      req.on("response", (x) => (h = x));
      req.on("data", (d: Buffer) => parts.push(d));
      req.on("end", () => resolve({ status: Number(h[":status"]), headers: h, body: Buffer.concat(parts) }));
      req.on("error", reject);
      req.end(body);
    });
  try {
    const data = randomBytes(64 * 1024);
    const a = await h2req({ ":method": "POST", ":path": "/up%20load?x=1&x=2", "x-test": "yes" }, data);
    assert.is(a.status, 200);
    assert.ok(a.body.equals(data));
    assert.equal(a.headers["set-cookie"], ["a=1", "b=2"]);
    assert.is(a.headers["content-length"], String(data.length));
    assert.equal(seen[0], { v: "HTTP/2", m: "POST", p: "/up load", q: { x: "2" }, host: `localhost:${server.port}`, x: "yes", err: undefined });
    const b = await h2req({ ":path": "/stream" });
    assert.equal([b.status, b.body.toString()], [200, "ab"]);
    const c = await h2req({ ":path": "/empty" });
    assert.equal([c.status, c.body.length], [204, 0]);
    const d = await h2req({ ":path": "/throw" });
    assert.is(d.status, 500);
    assert.match(lines.join(""), /h2 boom/);
    const e = await h2req({ ":method": "POST", ":path": "/big" }, randomBytes(200_000));
    assert.is(e.status, 413);
    const f = await h2req({ ":method": "HEAD", ":path": "/" });
    assert.equal([f.status, f.body.length], [200, 0]);
    // The same listener speaks HTTP/1.1 to a client that offers only that.
    const [res, err] = await http.post(`https://localhost:${server.port}/h1`, {}, "one", { ca });
    assert.is(err, undefined);
    assert.is(res!.body.toString(), "one");
    assert.is((seen[seen.length - 1] as { v: string }).v, "HTTP/1.1");
  } finally {
    client.close();
    server.close();
    logger.setsink(prev);
  }
});

test("listen errors are values; bad configuration throws", async () => {
  const server = await serve(() => {});
  const [s2, err] = await http.listen({ addr: server.addr, handler: () => {} });
  assert.is(s2, undefined);
  assert.is(err, errno.ADDRINUSE);
  const [s3, err3] = await http.listen({
    addr: "127.0.0.1:0",
    handler: () => {},
    certs: [{ cert: "not a cert", key: "not a key" }],
  });
  assert.is(s3, undefined);
  assert.type(err3, "string");
  await assert.not.throws(() => undefined);
  let threw = 0;
  for (const bad of [
    { addr: "127.0.0.1:0" },
    { addr: "127.0.0.1:0", handler: () => {}, tls: true },
    { addr: "127.0.0.1:0", handler: () => {}, limits: { body: -1 } },
    { addr: "127.0.0.1:0", handler: () => {}, timeouts: { nope: 1 } },
  ]) {
    try {
      await http.listen(bad as unknown as ListenConf);
    } catch {
      threw++;
    }
  }
  assert.is(threw, 4);
  // Offering h2 (whose code loads on first use) changes none of it: bad shapes throw at the call, a bad certificate is a value.
  const h2 = ["h2", "http/1.1"];
  assert.throws(() => http.listen({ addr: "127.0.0.1:0", handler: () => {}, certs: [], alpnprotos: h2 }), /certs/);
  assert.throws(() => http.listen({ addr: "127.0.0.1:0", handler: () => {}, certs: [{ cert: 1, key: 2 }] as never, alpnprotos: h2 }), /certs\[0\]/);
  assert.throws(() => http.listen({ addr: "127.0.0.1:0", handler: () => {}, certs: [{ cert: "x", key: "y" }], alpnprotos: "h2" as never }), /alpnprotos/);
  const [s4, err4] = await http.listen({ addr: "127.0.0.1:0", handler: () => {}, certs: [{ cert: "not a cert", key: "not a key" }], alpnprotos: h2 });
  assert.is(s4, undefined);
  assert.match(String(err4), /certs\[0\]/);
  server.close();
});

test("respond/write/close contracts: bad status or header throws, wrong length throws, double close is an error", async () => {
  const results: unknown[] = [];
  const server = await serve(async (s) => {
    for (const f of [
      () => s.respond(99, {}),
      () => s.respond(200, { "bad name": "x" }),
      () => s.respond(200, { "x-inject": "a\r\nSet-Cookie: evil=1" }),
      () => s.respond(200, { "content-length": "abc" }),
    ]) {
      try {
        await f();
        results.push("no throw");
      } catch (e) {
        results.push((e as Error).name);
      }
    }
    s.respond(200, { "content-length": 3 });
    try {
      await s.write("toolong");
    } catch (e) {
      results.push((e as Error).name);
    }
    results.push(await s.close("abc"));
    results.push(await s.close("again"));
    results.push(await s.write("more"));
  });
  const res = await nodereq(server.port);
  assert.is(res.body.toString(), "abc");
  assert.equal(results, [
    "RangeError", "TypeError", "TypeError", "TypeError", "RangeError",
    [true, undefined],
    [false, "stream.close: the response is already finished"],
    [false, "stream.write: the response is already finished"],
  ]);
  server.close();
});

test.run();
