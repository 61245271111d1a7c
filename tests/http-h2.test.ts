// HTTP/2, both sides: our server driven by node:http2's client, our client
// against node:http2's server and our own. Flow control on a large upload,
// the body timeout, a reset mid-body, server.close() draining streams,
// trailers both ways, 431, CONNECT tunnels and extended CONNECT.
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as nodehttp2 from "node:http2";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import http from "silly-net-http";
import type { ListenConf, ServerStream } from "silly-net-http";
import errno from "silly/errno";
import { deferred } from "./lib/deferred.js";

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const ca = fixture("ca.pem");
const certs = [{ cert: fixture("localhost.pem"), key: fixture("localhost-key.pem") }];
const H2 = { ca, alpnprotos: ["h2", "http/1.1"] };

/** `p`, or a failure naming `what` after `ms`. */
function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

async function serve(handler: (s: ServerStream) => unknown, extra: Partial<ListenConf> = {}) {
  const [server, err] = await http.listen({ addr: "127.0.0.1:0", certs, alpnprotos: ["h2", "http/1.1"], handler, ...extra });
  if (server === undefined) throw new Error(`listen failed: ${err}`);
  return server;
}

interface H2Response {
  status: number;
  headers: nodehttp2.IncomingHttpHeaders;
  body: Buffer;
  trailers: nodehttp2.IncomingHttpHeaders | undefined;
  rst: number;
}

/** One request with node:http2 on `client`; resolves once the stream has closed. */
function h2req(client: nodehttp2.ClientHttp2Session, headers: nodehttp2.OutgoingHttpHeaders, body?: Buffer | string, trailers?: nodehttp2.OutgoingHttpHeaders): Promise<H2Response> {
  return within(
    new Promise((resolve) => {
      const req = client.request(headers, { waitForTrailers: trailers !== undefined });
      if (trailers !== undefined) req.on("wantTrailers", () => req.sendTrailers(trailers));
      const parts: Buffer[] = [];
      let h: nodehttp2.IncomingHttpHeaders = {};
      let t: nodehttp2.IncomingHttpHeaders | undefined;
      req.on("response", (x) => (h = x));
      req.on("trailers", (x) => (t = x));
      req.on("data", (d: Buffer) => parts.push(d));
      req.on("error", () => {});
      req.on("close", () => resolve({ status: Number(h[":status"] ?? 0), headers: h, body: Buffer.concat(parts), trailers: t, rst: req.rstCode ?? 0 }));
      req.end(body);
    }),
    `${String(headers[":method"] ?? "GET")} ${String(headers[":path"])}`,
  );
}

function connect(port: number, settings?: nodehttp2.Settings): nodehttp2.ClientHttp2Session {
  const c = nodehttp2.connect(`https://localhost:${port}`, { ca, settings });
  c.on("error", () => {});
  return c;
}

test("flow control: an upload the handler does not read yet waits in the client, not in server memory", async () => {
  const gate = deferred();
  let got = 0;
  const server = await serve(async (s) => {
    await gate.promise;
    for (;;) {
      const [piece] = await s.read();
      if (piece === undefined) break;
      got += piece.length;
    }
    s.close(`got ${got}`);
  }, { limits: { body: 32 * 1024 * 1024 } });
  const client = connect(server.port);
  const total = 16 * 1024 * 1024;
  const req = client.request({ ":method": "POST", ":path": "/up" });
  req.on("error", () => {});
  const answer = new Promise<string>((resolve) => {
    let t = "";
    req.on("data", (d) => (t += d));
    req.on("end", () => resolve(t));
  });
  let sent = 0; // bytes node:http2 has sent (write callbacks)
  const piece = randomBytes(64 * 1024);
  const writing = (async () => {
    while (sent < total) await new Promise<void>((r) => req.write(piece, () => ((sent += piece.length), r())));
    req.end();
  })();
  // The absence of progress cannot be awaited: give the client a while to push all it can.
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(sent < 2 * 1024 * 1024, `${sent} bytes went out while the handler read nothing`);
  assert.is(got, 0);
  gate.resolve();
  await within(writing, "the whole upload");
  assert.is(await within(answer, "the answer"), `got ${total}`);
  client.close();
  server.close();
});

test("body timeout: a stalled upload gets 408; a stream reset mid-body fails the read; the session serves on", async () => {
  const errors: string[] = [];
  const reset = deferred<string>();
  const server = await serve(async (s) => {
    const [body, err] = await s.readall();
    if (s.path === "/reset") return reset.resolve(String(err));
    if (body === undefined) return void errors.push(err);
    s.close(`ok ${body.length}`);
  }, { timeouts: { body: 150 } });
  const client = connect(server.port);
  const stalled = await within(
    new Promise<H2Response>((resolve) => {
      const req = client.request({ ":method": "POST", ":path": "/stall" });
      let h: nodehttp2.IncomingHttpHeaders = {};
      const parts: Buffer[] = [];
      req.on("response", (x) => (h = x));
      req.on("data", (d: Buffer) => parts.push(d));
      req.on("error", () => {});
      req.on("close", () => resolve({ status: Number(h[":status"]), headers: h, body: Buffer.concat(parts), trailers: undefined, rst: req.rstCode ?? 0 }));
      req.write("part of a body"); // and then nothing
    }),
    "the 408",
  );
  assert.is(stalled.status, 408);
  assert.match(errors[0]!, /timed out/);
  const req = client.request({ ":method": "POST", ":path": "/reset" });
  req.on("error", () => {});
  req.write("some", () => req.destroy()); // RST_STREAM without END_STREAM (close() would end the body first)
  const r = await within(reset.promise, "the handler's read error");
  assert.match(r, /reset/, r);
  const ok = await h2req(client, { ":method": "POST", ":path": "/fine" }, "abc");
  assert.equal([ok.status, ok.body.toString()], [200, "ok 3"]);
  client.close();
  server.close();
});

test("server.close() lets open streams finish, refuses new ones, and closes the connection", async () => {
  const entered = deferred();
  const release = deferred();
  const server = await serve(async (s) => {
    if (s.path === "/slow") {
      entered.resolve();
      await release.promise;
    }
    s.close(`done ${s.path}`);
  });
  const client = connect(server.port);
  const closed = new Promise((r) => client.on("close", r));
  const slow = h2req(client, { ":path": "/slow" });
  await within(entered.promise, "the slow handler");
  server.close();
  const refused = await h2req(client, { ":path": "/late" });
  assert.is(refused.status, 0, "a stream opened after the GOAWAY gets no answer");
  release.resolve();
  const done = await slow;
  assert.equal([done.status, done.body.toString()], [200, "done /slow"]);
  await within(closed, "the session to close");
});

test("trailers both ways, over node:http2 and our client", async () => {
  const server = await serve(async (s) => {
    const [body] = await s.readall();
    s.respond(200, {});
    if (s.path === "/stream") await s.write("streamed ");
    await s.close(`${body!.length} ${JSON.stringify(s.trailer ?? null)}`, { "x-sum": "42" });
  });
  const client = connect(server.port);
  for (const path of ["/stream", "/whole"]) {
    const r = await h2req(client, { ":method": "POST", ":path": path }, "abcd", { "x-req": "t" });
    assert.is(r.body.toString(), `${path === "/stream" ? "streamed " : ""}4 {"x-req":"t"}`);
    assert.is(r.trailers?.["x-sum"], "42");
  }
  client.close();
  const [s, err] = await http.request("PUT", `https://localhost:${server.port}/stream`, {}, H2);
  if (s === undefined) throw new Error(err);
  assert.is(s.version, "HTTP/2");
  await s.write("ab");
  await s.closewrite("c", { "x-ours": "1" });
  const [body] = await s.readall();
  assert.is(body?.toString(), 'streamed 3 {"x-ours":"1"}');
  assert.equal({ ...s.trailer }, { "x-sum": "42" });
  s.close();
  server.close();
});

test("431 for a header section over limits.headerbytes or limits.headercount; the connection serves on", async () => {
  const server = await serve((s) => s.close(`ok ${s.path}`), { limits: { headerbytes: 4096, headercount: 10 } });
  const client = connect(server.port);
  const big = await h2req(client, { ":path": "/big", "x-big": "a".repeat(6000) });
  assert.is(big.status, 431);
  const many: nodehttp2.OutgoingHttpHeaders = { ":path": "/many" };
  for (let i = 0; i < 15; i++) many[`x-${i}`] = "v";
  assert.is((await h2req(client, many)).status, 431);
  // Far beyond the limit node:http2 resets the stream itself; the connection survives that too.
  const huge = await h2req(client, { ":path": "/huge", "x-big": "a".repeat(20_000) });
  assert.is(huge.status, 0);
  const after = await h2req(client, { ":path": "/after" });
  assert.equal([after.status, after.body.toString()], [200, "ok /after"]);
  client.close();
  server.close();
});

test("CONNECT over HTTP/2: plain and extended (RFC 8441, announced by default) tunnels through the stream", async () => {
  const server = await serve(async (s) => {
    if (s.method !== "CONNECT") return void s.close("plain");
    s.respond(200, {});
    await s.write(`open ${s.protocol ?? "-"} ${s.path};`);
    for (;;) {
      const [d] = await s.read();
      if (d === undefined) break;
      await s.write(`echo ${d.toString()};`);
    }
    s.close();
  });
  // node:http2 as the client, plain CONNECT
  const client = connect(server.port);
  const plain = await h2req(client, { ":method": "CONNECT", ":authority": "example.test:443" }, "hi");
  assert.equal([plain.status, plain.body.toString()], [200, "open - example.test:443;echo hi;"]);
  assert.is(plain.headers["content-length"], undefined);
  // node:http2, extended: the server announced SETTINGS_ENABLE_CONNECT_PROTOCOL
  await within(new Promise((r) => (client.remoteSettings.enableConnectProtocol ? r(0) : client.once("remoteSettings", r))), "settings");
  assert.is(client.remoteSettings.enableConnectProtocol, true);
  const ext = await h2req(client, { ":method": "CONNECT", ":protocol": "echo", ":scheme": "https", ":path": "/chat" }, "x");
  assert.is(ext.body.toString(), "open echo /chat;echo x;");
  client.close();
  // our client: a CONNECT stream on the pooled session
  const [t, err] = await http.request("CONNECT", `https://localhost:${server.port}/chat`, {}, { ...H2, protocol: "echo" });
  if (t === undefined) throw new Error(err);
  assert.is((await t.readheader())[0]?.status, 200);
  assert.is((await t.read())[0]?.toString(), "open echo /chat;");
  await t.write("ping");
  assert.is((await t.read())[0]?.toString(), "echo ping;");
  await t.closewrite();
  assert.equal(await t.read(), [undefined, errno.EOF]);
  t.close();
  server.close();
  // With extendedconnect: false the server does not take it.
  const plainserver = await serve((s) => s.close("x"), { extendedconnect: false });
  const [u] = await http.request("CONNECT", `https://localhost:${plainserver.port}/chat`, {}, { ...H2, protocol: "echo" });
  assert.match((await u!.readheader())[1]!, /does not take extended CONNECT/);
  u!.close();
  plainserver.close();
});

test("our client over HTTP/2: one session for sequential and concurrent requests; same stream API", async () => {
  let sessions = 0;
  const peer = nodehttp2.createSecureServer({ ...certs[0]!, allowHTTP1: true }, (req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      res.setHeader("x-proto", req.httpVersion);
      res.setHeader("set-cookie", ["a=1", "b=2"]);
      res.end(`${req.method} ${req.url} ${Buffer.concat(parts).length}`);
    });
  });
  peer.on("session", () => sessions++);
  await new Promise<void>((r) => peer.listen(0, "127.0.0.1", r));
  const base = `https://localhost:${(peer.address() as AddressInfo).port}`;
  for (let i = 0; i < 3; i++) {
    const [res, err] = await http.get(`${base}/g${i}?q=1`, { "x-a": "1" }, H2);
    assert.is(err, undefined);
    assert.equal([res!.status, res!.body.toString(), res!.header["x-proto"], res!.header["set-cookie"]], [200, `GET /g${i}?q=1 0`, "2.0", "a=1\nb=2"]);
  }
  const data = randomBytes(300_000);
  const all = await Promise.all(Array.from({ length: 20 }, (_, i) => http.post(`${base}/p${i}`, {}, data, H2)));
  for (const [i, [res]] of all.entries()) assert.is(res?.body.toString(), `POST /p${i} ${data.length}`);
  assert.is(sessions, 1, "every request went over one HTTP/2 connection");
  // Offering only http/1.1 still works against the same server.
  const [h1] = await http.get(`${base}/one`, {}, { ca });
  assert.is(h1?.header["x-proto"], "1.1");
  await new Promise<void>((r) => peer.close(() => r()));
});

test.run();
