// silly-net-http client against Node's own node:http / node:https servers and
// raw node:net servers (for odd framings, upgrades and failures).
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as nodehttp from "node:http";
import * as nodehttps from "node:https";
import * as net from "node:net";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import * as zlib from "node:zlib";
import http from "silly-net-http";
import errno from "silly/errno";
import { program } from "./lib/child.js";
import { NOHOST } from "./lib/nohost.js";

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");

interface Seen {
  method: string;
  url: string;
  headers: nodehttp.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  trailers: NodeJS.Dict<string>;
}

/** A node:http server that records each request and answers with `answer`. */
async function nodeserver(answer: (req: nodehttp.IncomingMessage, body: Buffer, res: nodehttp.ServerResponse) => void) {
  const seen: Seen[] = [];
  const server = nodehttp.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      const body = Buffer.concat(parts);
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body, trailers: req.trailers });
      answer(req, body, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    seen,
    close: () => new Promise<void>((r) => server.close(() => r())),
    server,
  };
}

/** A raw TCP server: `onconn` gets each socket and the bytes seen so far. */
async function rawserver(onconn: (sock: net.Socket) => void) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    onconn(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Read from a socket until the head has arrived (and `extra` more bytes). */
function readhead(sock: net.Socket, cb: (head: string, rest: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  const on = (d: Buffer): void => {
    buf = Buffer.concat([buf, d]);
    const i = buf.indexOf("\r\n\r\n");
    if (i >= 0) {
      sock.off("data", on);
      cb(buf.subarray(0, i + 4).toString("latin1"), buf.subarray(i + 4));
    }
  };
  sock.on("data", on);
}

test("get/post against node:http: status, headers, host, path and query kept", async () => {
  const srv = await nodeserver((req, body, res) => {
    res.setHeader("x-got", `${req.method} ${req.url} ${body.length}`);
    res.setHeader("set-cookie", ["a=1", "b=2"]);
    res.end("answer");
  });
  const [res, err] = await http.get(`http://127.0.0.1:${srv.port}/p/a%20th?q=1&r=two`, { "x-custom": "v", accept: "text/plain" });
  assert.is(err, undefined);
  assert.is(res!.status, 200);
  assert.is(res!.body.toString(), "answer");
  assert.is(res!.header["x-got"], "GET /p/a%20th?q=1&r=two 0");
  assert.is(res!.header["set-cookie"], "a=1\nb=2");
  const s = srv.seen[0]!;
  assert.is(s.headers["host"], `127.0.0.1:${srv.port}`);
  assert.is(s.headers["x-custom"], "v");
  assert.is(s.headers["content-length"], undefined); // a bodyless GET sends no framing
  assert.is(s.headers["transfer-encoding"], undefined);
  const [res2, err2] = await http.post(`http://localhost:${srv.port}/form`, { "content-type": "text/plain" }, "posted");
  assert.is(err2, undefined);
  assert.is(res2!.header["x-got"], "POST /form 6");
  assert.is(srv.seen[1]!.headers["content-length"], "6");
  assert.is(srv.seen[1]!.headers["host"], `localhost:${srv.port}`);
  // POST without a body still says Content-Length: 0
  await http.post(`http://127.0.0.1:${srv.port}/empty`);
  assert.is(srv.seen[2]!.headers["content-length"], "0");
  await srv.close();
});

test("bodies of 0 B, 1 B, 64 KiB and 8 MiB both ways, fixed-length and chunked responses", async () => {
  const srv = await nodeserver((req, body, res) => {
    if (req.url === "/chunked") {
      // no content-length: node sends it chunked
      const half = body.length >> 1;
      if (half > 0) res.write(body.subarray(0, half));
      res.end(body.subarray(half));
    } else {
      res.setHeader("content-length", body.length);
      res.end(body);
    }
  });
  for (const size of [0, 1, 64 * 1024, 8 * 1024 * 1024]) {
    const data = randomBytes(size);
    for (const path of ["/fixed", "/chunked"]) {
      const [res, err] = await http.post(`http://127.0.0.1:${srv.port}${path}`, {}, data);
      assert.is(err, undefined, `${path} ${size}`);
      assert.is(res!.status, 200);
      assert.ok(res!.body.equals(data), `${path} ${size}`);
      if (path === "/chunked" && size > 1) assert.is(res!.header["transfer-encoding"], "chunked");
    }
  }
  await srv.close();
});

test("request(): streamed chunked upload, read() piece by piece, response trailers", async () => {
  const srv = await nodeserver((_req, body, res) => {
    res.writeHead(200, { "content-type": "text/plain", trailer: "x-sum" });
    res.write(`len=${body.length};`);
    res.write(body.subarray(0, 10));
    res.addTrailers({ "x-sum": String(body.reduce((a, b) => a + b, 0)) });
    res.end();
  });
  const data = randomBytes(100_000);
  const [s, err] = await http.request("PUT", `http://127.0.0.1:${srv.port}/up`, { "content-type": "application/octet-stream" });
  assert.is(err, undefined);
  assert.equal(await s!.write(data.subarray(0, 40_000)), [true, undefined]);
  assert.equal(await s!.write(data.subarray(40_000)), [true, undefined]);
  assert.equal(await s!.closewrite(), [true, undefined]);
  const [h, herr] = await s!.readheader();
  assert.is(herr, undefined);
  assert.is(h!.status, 200);
  assert.is(s!.status, 200);
  let text = Buffer.alloc(0);
  for (;;) {
    const [piece, rerr] = await s!.read();
    if (piece === undefined) {
      assert.is(rerr, errno.EOF);
      break;
    }
    text = Buffer.concat([text, piece]);
  }
  assert.ok(text.equals(Buffer.concat([Buffer.from("len=100000;"), data.subarray(0, 10)])));
  assert.equal({ ...s!.trailer }, { "x-sum": String(data.reduce((a, b) => a + b, 0)) });
  s!.close();
  const seen = srv.seen[0]!;
  assert.is(seen.headers["transfer-encoding"], "chunked");
  assert.ok(seen.body.equals(data));
  await srv.close();
});

test("HEAD, 204 and 304 have no body; a close-delimited body is read to EOF", async () => {
  const srv = await nodeserver((req, _body, res) => {
    if (req.url === "/204") res.writeHead(204).end();
    else if (req.url === "/304") res.writeHead(304, { etag: "x" }).end();
    else res.writeHead(200, { "content-length": 5 }).end(req.method === "HEAD" ? undefined : "hello");
  });
  for (const [method, path] of [["HEAD", "/"], ["GET", "/204"], ["GET", "/304"]] as const) {
    const [s] = await http.request(method, `http://127.0.0.1:${srv.port}${path}`);
    const [h] = await s!.readheader();
    const [body, err] = await s!.readall();
    assert.is(err, undefined);
    assert.is(body!.length, 0, `${method} ${path}`);
    if (method === "HEAD") assert.is(h!.header["content-length"], "5");
    s!.close();
  }
  await srv.close();
  const rs = await rawserver((sock) => {
    readhead(sock, () => {
      sock.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
      sock.write("until ");
      sock.end("close");
    });
  });
  const [res, err] = await http.get(`http://127.0.0.1:${rs.port}/`);
  assert.is(err, undefined);
  assert.is(res!.body.toString(), "until close");
  await rs.close();
});

test("interim 1xx answers are skipped; 101 hands the conn over with the bytes after the head", async () => {
  let got = "";
  const rs = await rawserver((sock) => {
    readhead(sock, (head, rest) => {
      got = head;
      assert.is(rest.length, 0); // no body, no chunk terminator after a bodyless GET
      if (head.startsWith("GET /interim")) {
        sock.write("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n");
        sock.end("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        return;
      }
      // 101 and the first bytes of the new protocol in one packet
      sock.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nWELCOME");
      sock.on("data", (d) => sock.write(`echo:${d.toString()}`));
    });
  });
  const [res] = await http.get(`http://127.0.0.1:${rs.port}/interim`);
  assert.equal([res!.status, res!.body.toString()], [200, "ok"]);
  const [s, err] = await http.request("GET", `http://127.0.0.1:${rs.port}/ws?x=1`, { upgrade: "test", connection: "Upgrade" });
  assert.is(err, undefined);
  assert.equal(await s!.closewrite(), [true, undefined]);
  const [h] = await s!.readheader();
  assert.is(h!.status, 101);
  assert.is(h!.header["upgrade"], "test");
  assert.match(got, /^GET \/ws\?x=1 HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\nupgrade: test\r\nConnection: Upgrade\r\n\r\n$/);
  s!.close(); // leaves an upgraded conn alone
  const conn = s!.conn;
  const [welcome] = await conn.read(7);
  assert.is(welcome!.toString(), "WELCOME");
  await conn.write("hi");
  const [echo] = await conn.read(7);
  assert.is(echo!.toString(), "echo:hi");
  conn.close();
  await rs.close();
});

test("failures are values naming the cause: refused, DNS, malformed, timeout, TLS, bad URL", async () => {
  // refused: a port nobody listens on
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const deadport = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const [r1, e1] = await http.get(`http://127.0.0.1:${deadport}/`);
  assert.is(r1, undefined);
  assert.match(e1!, /connect to 127\.0\.0\.1:\d+ failed: Connection refused/);
  // DNS
  const [, e2] = await http.get(`http://${NOHOST}/`);
  assert.ok(e2!.startsWith(`http.request: cannot resolve ${NOHOST}`), e2);
  // malformed response
  const bad = await rawserver((sock) => readhead(sock, () => sock.end("NOT HTTP AT ALL\r\n\r\n")));
  const [, e3] = await http.get(`http://127.0.0.1:${bad.port}/`);
  assert.match(e3!, /malformed response: malformed status line/);
  await bad.close();
  // a response head with a bare LF
  const bad2 = await rawserver((sock) => readhead(sock, () => sock.end("HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n")));
  const [, e3b] = await http.get(`http://127.0.0.1:${bad2.port}/`);
  assert.match(e3b!, /malformed response: bare LF/);
  await bad2.close();
  // closed before answering
  const mute = await rawserver((sock) => readhead(sock, () => sock.end()));
  const [, e4] = await http.get(`http://127.0.0.1:${mute.port}/`);
  assert.match(e4!, /connection closed before a response arrived/);
  await mute.close();
  // timeout: accepts, never answers
  const slow = await rawserver(() => {});
  const t0 = Date.now();
  const [, e5] = await http.get(`http://127.0.0.1:${slow.port}/`, {}, { timeout: 200 });
  assert.match(e5!, /timed out after 200 ms/);
  assert.ok(Date.now() - t0 >= 150);
  await slow.close();
  // truncated body
  const short = await rawserver((sock) => readhead(sock, () => sock.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")));
  const [, e6] = await http.get(`http://127.0.0.1:${short.port}/`);
  assert.match(e6!, /connection closed before the body ended/);
  await short.close();
  // TLS: our test CA is not trusted by default
  const tlsserver = nodehttps.createServer({ cert: fixture("localhost.pem"), key: fixture("localhost-key.pem") }, (_q, s) => s.end("x"));
  await new Promise<void>((r) => tlsserver.listen(0, "127.0.0.1", r));
  const tport = (tlsserver.address() as AddressInfo).port;
  const [, e7] = await http.get(`https://localhost:${tport}/`);
  assert.match(e7!, /TLS with localhost:\d+ failed: .*TLS/);
  const [ok7, e8] = await http.get(`https://localhost:${tport}/`, {}, { ca: fixture("ca.pem") });
  assert.is(e8, undefined);
  assert.is(ok7!.body.toString(), "x");
  // connect by IP, check the name given in hostname
  const [ok9, e9] = await http.get(`https://127.0.0.1:${tport}/`, {}, { ca: fixture("ca.pem"), hostname: "localhost" });
  assert.is(e9, undefined);
  assert.is(ok9!.status, 200);
  await new Promise<void>((r) => tlsserver.close(() => r()));
  // bad URLs
  assert.match((await http.get("not a url"))[1]!, /invalid URL/);
  assert.match((await http.get("ftp://example.com/"))[1]!, /unsupported URL scheme "ftp:"/);
});

test("response limits: head bytes, header count, body size", async () => {
  const rs = await rawserver((sock) =>
    readhead(sock, (head) => {
      if (head.startsWith("GET /bighead")) sock.end(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(2000)}\r\nContent-Length: 0\r\n\r\n`);
      else if (head.startsWith("GET /many")) sock.end(`HTTP/1.1 200 OK\r\n${"X-N: 1\r\n".repeat(20)}Content-Length: 0\r\n\r\n`);
      else if (head.startsWith("GET /chunked")) sock.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n800\r\n${"c".repeat(2048)}\r\n0\r\n\r\n`);
      else sock.end(`HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n${"b".repeat(5000)}`);
    }),
  );
  const limits = { headerbytes: 1024, headercount: 10, body: 1000 };
  const base = `http://127.0.0.1:${rs.port}`;
  assert.match((await http.get(`${base}/bighead`, {}, { limits }))[1]!, /response head too large/);
  assert.match((await http.get(`${base}/many`, {}, { limits }))[1]!, /too many header fields/);
  assert.match((await http.get(`${base}/body`, {}, { limits }))[1]!, /body exceeds the size limit/);
  assert.match((await http.get(`${base}/chunked`, {}, { limits }))[1]!, /body exceeds the size limit/);
  const [ok] = await http.get(`${base}/body`);
  assert.is(ok!.body.length, 5000);
  await rs.close();
});

test("request(): fixed-length upload with write(); wrong lengths and bad headers throw", async () => {
  const srv = await nodeserver((_req, body, res) => res.end(`got ${body.toString()}`));
  const [s] = await http.request("PUT", `http://127.0.0.1:${srv.port}/data`, { "content-length": 12 });
  assert.equal(await s!.write("Updated "), [true, undefined]);
  assert.throws(() => s!.write("too much data"), RangeError);
  assert.equal(await s!.write("data"), [true, undefined]);
  const [h] = await s!.readheader();
  assert.is(h!.status, 200);
  const [body] = await s!.readall();
  assert.is(body!.toString(), "got Updated data");
  s!.close();
  await assert.throws(() => http.request("GET", "http://127.0.0.1:1/", { "bad name": "x" }));
  await assert.throws(() => http.request("GET", "http://127.0.0.1:1/", { "x-evil": "a\r\nb: c" }));
  await assert.throws(() => http.request("GE T", "http://127.0.0.1:1/"));
  await srv.close();
});

test("our client against our server over HTTPS and HTTP", async () => {
  const [server, lerr] = await http.listen({
    addr: "127.0.0.1:0",
    certs: [{ cert: fixture("localhost.pem"), key: fixture("localhost-key.pem") }],
    handler: async (s) => {
      const [body] = await s.readall();
      s.respond(200, { "content-type": "application/octet-stream" });
      s.close(body!);
    },
  });
  assert.is(lerr, undefined);
  const data = randomBytes(200_000);
  const [res, err] = await http.post(`https://localhost:${server!.port}/`, {}, data, { ca: fixture("ca.pem") });
  assert.is(err, undefined);
  assert.ok(res!.body.equals(data));
  server!.close();
});

// ---- connection reuse ----

/** A node:http server that counts its TCP connections and the ones closed. */
async function countingserver(answer: (req: nodehttp.IncomingMessage, body: Buffer, res: nodehttp.ServerResponse) => void) {
  const srv = await nodeserver(answer);
  let opened = 0;
  let closed = 0;
  const waiters: (() => void)[] = [];
  srv.server.on("connection", (sock: net.Socket) => {
    opened++;
    sock.on("close", () => {
      closed++;
      for (const w of waiters.splice(0)) w();
    });
  });
  return {
    ...srv,
    opened: () => opened,
    closed: () => closed,
    /** Resolves once `n` connections have closed; fails the test after 10 s. */
    closes(n: number): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} closed connections (${closed} so far)`)), 10_000);
        const check = (): void => {
          if (closed >= n) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

test("connection reuse: sequential requests to one origin share one TCP connection; HEAD and 204 too", async () => {
  const srv = await countingserver((req, body, res) => {
    if (req.url === "/204") return void res.writeHead(204).end();
    res.end(`${req.method} ${req.url} ${body.length}`);
  });
  const base = `http://127.0.0.1:${srv.port}`;
  for (let i = 0; i < 5; i++) assert.is((await http.get(`${base}/g${i}`))[0]?.body.toString(), `GET /g${i} 0`);
  assert.is((await http.post(`${base}/p`, {}, "12345"))[0]?.body.toString(), "POST /p 5");
  assert.is((await http.get(`${base}/204`))[0]?.status, 204);
  const [s] = await http.request("HEAD", `${base}/h`);
  assert.is((await s!.readheader())[0]?.status, 200);
  s!.close();
  const [st] = await http.request("PUT", `${base}/stream`);
  await st!.write("abc");
  await st!.closewrite("de");
  assert.is((await st!.readall())[0]?.toString(), "PUT /stream 5");
  st!.close();
  assert.is((await http.get(`${base}/last`))[0]?.status, 200);
  assert.is(srv.opened(), 1, "one TCP connection for all of them");
  assert.is(srv.seen[0]!.headers["connection"], undefined, "HTTP/1.1 keeps the connection by default: no Connection field");
  // Not reused: reuse false, or a request that says Connection: close.
  await http.get(`${base}/fresh`, {}, { reuse: false });
  assert.is(srv.seen[srv.seen.length - 1]!.headers["connection"], "close");
  await http.get(`${base}/close`, { connection: "close" }); // may take the idle one, but does not give it back
  await http.get(`${base}/after`);
  assert.is(srv.opened(), 3);
  await srv.close();
});

test("connection reuse: concurrent requests each get a connection; at most 16 idle ones are kept per origin", async () => {
  const release: (() => void)[] = [];
  let held = true;
  const srv = await countingserver((_req, _body, res) => {
    if (!held) return void res.end("ok");
    release.push(() => res.end("ok"));
    if (release.length === 20) {
      held = false;
      for (const r of release.splice(0)) r();
    }
  });
  const base = `http://127.0.0.1:${srv.port}`;
  const all = await Promise.all(Array.from({ length: 20 }, () => http.get(`${base}/`)));
  assert.ok(all.every(([r]) => r?.status === 200));
  assert.is(srv.opened(), 20);
  await srv.closes(4); // the four beyond the bound
  const more = await Promise.all(Array.from({ length: 16 }, () => http.get(`${base}/`)));
  assert.ok(more.every(([r]) => r?.status === 200));
  assert.is(srv.opened(), 20, "the 16 kept connections served the next 16 requests");
  await srv.close();
});

test("connection reuse: a connection the server closed is not reused; an idempotent request is sent again, a POST never", async () => {
  // A server that answers one request per connection without saying so, then drops the
  // connection when the next request arrives (a keep-alive race lost every time).
  let requests = 0;
  const posts: string[] = [];
  const rs = await rawserver((sock) => {
    let first = true;
    readhead(sock, function answer(head, rest) {
      requests++;
      if (!first) return void sock.destroy();
      first = false;
      if (head.startsWith("POST")) posts.push(rest.toString());
      sock.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      readhead(sock, answer);
    });
  });
  const base = `http://127.0.0.1:${rs.port}`;
  for (let i = 0; i < 3; i++) {
    const [res, err] = await http.get(`${base}/${i}`);
    assert.is(res?.body.toString(), "ok", `GET ${i}: ${err}`);
  }
  assert.is(requests, 5, "each GET after the first was sent twice: once on the dead connection, once on a fresh one");
  const [, perr] = await http.post(`${base}/p`, {}, "body");
  assert.match(perr!, /connection closed before a response arrived/);
  assert.equal(posts, [], "the POST reached no server that answered");
  const [ok] = await http.post(`${base}/p`, {}, "body");
  assert.is(ok?.body.toString(), "ok", "a fresh connection serves the next POST");
  assert.equal(posts, ["body"]);
  // A server that closes between requests: its connection is simply not taken from the pool.
  const srv = await countingserver((_req, _body, res) => {
    res.end("x");
    res.socket?.end();
  });
  for (let i = 0; i < 3; i++) assert.is((await http.get(`http://127.0.0.1:${srv.port}/`))[0]?.body.toString(), "x");
  assert.is(srv.opened(), 3);
  await srv.close();
  await rs.close();
});

test("connection reuse: Keep-Alive timeout=1 from the server means no reuse; idle connections let the process exit", async () => {
  const srv = await countingserver((_req, _body, res) => {
    res.setHeader("keep-alive", "timeout=1");
    res.end("x");
  });
  for (let i = 0; i < 3; i++) await http.get(`http://127.0.0.1:${srv.port}/`);
  assert.is(srv.opened(), 3, "a second's keep-alive leaves no time to reuse safely");
  await srv.close();
  const srv2 = await countingserver((_req, _body, res) => res.end("kept"));
  const child = program(`
    import http from "silly-net-http";
    const [res] = await http.get("http://127.0.0.1:${srv2.port}/");
    console.log("got", res.body.toString());
  `);
  await child.waitfor(/got kept/);
  assert.equal(await child.exited(), { code: 0, signal: null });
  await srv2.closes(1);
  await srv2.close();
});

test("connection reuse: the sweep closes an idle connection once its keep-alive time is up", async () => {
  // The server would keep it for a minute: a close within the test's bound is the client's.
  const srv = await countingserver((_req, _body, res) => {
    res.setHeader("keep-alive", "timeout=3"); // kept for 2 s: a second less than the server says
    res.end("x");
  });
  srv.server.keepAliveTimeout = 60_000;
  const [res] = await http.get(`http://127.0.0.1:${srv.port}/`);
  assert.is(res?.body.toString(), "x");
  const kept = Date.now();
  await srv.closes(1);
  const idle = Date.now() - kept;
  assert.ok(idle >= 1500, `closed after ${idle} ms: it should have been kept for 2 s`);
  await http.get(`http://127.0.0.1:${srv.port}/`);
  assert.is(srv.opened(), 2, "the swept connection is not reused");
  await srv.close();
});

// ---- decompression ----

test("decompress: gzip, deflate (zlib and raw) and br are decoded and announced; off by default", async () => {
  const text = "compressible text ".repeat(5000);
  const encoders: Record<string, (b: Buffer) => Buffer> = {
    gzip: zlib.gzipSync, deflate: zlib.deflateSync, br: zlib.brotliCompressSync, "raw-deflate": zlib.deflateRawSync,
  };
  const srv = await nodeserver((req, _body, res) => {
    const kind = req.url!.slice(1);
    if (kind === "plain") return void res.end(text);
    res.setHeader("content-encoding", kind === "raw-deflate" ? "deflate" : kind);
    res.end(encoders[kind]!(Buffer.from(text)));
  });
  const base = `http://127.0.0.1:${srv.port}`;
  for (const kind of ["gzip", "deflate", "raw-deflate", "br", "plain"]) {
    const [res, err] = await http.get(`${base}/${kind}`, {}, { decompress: true });
    assert.is(err, undefined, kind);
    assert.is(res!.body.toString(), text, kind);
    assert.is(res!.header["content-encoding"], undefined, `${kind}: the field of a decoded body is removed`);
    assert.is(srv.seen[srv.seen.length - 1]!.headers["accept-encoding"], "gzip, deflate, br");
  }
  // read() hands out decoded pieces as they come
  const [s] = await http.request("GET", `${base}/gzip`, {}, { decompress: true });
  let got = "";
  for (;;) {
    const [piece, err] = await s!.read();
    if (piece === undefined) {
      assert.is(err, errno.EOF);
      break;
    }
    got += piece.toString();
  }
  assert.is(got, text);
  s!.close();
  // off by default: the bytes as sent
  const [raw] = await http.get(`${base}/gzip`);
  assert.is(raw!.header["content-encoding"], "gzip");
  assert.ok(zlib.gunzipSync(raw!.body).toString() === text);
  assert.is(srv.seen[srv.seen.length - 1]!.headers["accept-encoding"], undefined);
  await srv.close();
});

test("decompress: the body limit holds after decoding (a gzip bomb), and a corrupt body is an error", async () => {
  const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024));
  const srv = await nodeserver((req, _body, res) => {
    res.setHeader("content-encoding", "gzip");
    res.end(req.url === "/bomb" ? bomb : Buffer.from("not gzip at all"));
  });
  const base = `http://127.0.0.1:${srv.port}`;
  assert.ok(bomb.length < 1024 * 1024);
  const [, err] = await http.get(`${base}/bomb`, {}, { decompress: true, limits: { body: 1024 * 1024 } });
  assert.match(err!, /body exceeds the size limit once decompressed/);
  const [, err2] = await http.get(`${base}/bad`, {}, { decompress: true });
  assert.match(err2!, /cannot decompress the gzip body/);
  await srv.close();
});

test.run();
