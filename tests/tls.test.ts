// silly/net/tls with the certificates in tests/fixtures (see its README).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import nodetls from "node:tls";
import type { TLSSocket } from "node:tls";
import tls from "silly/net/tls";
import type { CertConf, Conn, ConnectOpts, ListenConf, TlsListener } from "silly/net/tls";
import tcp from "silly/net/tcp";
import errno from "silly/errno";
import task from "silly/task";
import { deferred } from "./lib/deferred.js";
import { nodesocket } from "./lib/nodesocket.js";
import { NOHOST } from "./lib/nohost.js";

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const ca = fixture("ca.pem");
const LOCALHOST: CertConf = { cert: fixture("localhost.pem"), key: fixture("localhost-key.pem") };
const OTHER: CertConf = { cert: fixture("other.pem"), key: fixture("other-key.pem") };
const WILD: CertConf = { cert: fixture("wildcard.pem"), key: fixture("wildcard-key.pem") };

// Node warns, for instance, when an IP is sent as an SNI name; we never should.
const warnings: string[] = [];
process.on("warning", (w) => warnings.push(`${w.name}: ${w.message}`));



async function listen(conf: Partial<ListenConf> & Pick<ListenConf, "accept">): Promise<TlsListener> {
  const [l, err] = await tls.listen({ addr: "127.0.0.1:0", certs: [LOCALHOST], ...conf });
  if (l === undefined) throw new Error(`tls.listen: ${err}`);
  return l;
}

async function dial(addr: string, opts: ConnectOpts = { ca }): Promise<Conn> {
  const [c, err] = await tls.connect(addr, opts);
  if (c === undefined) throw new Error(`tls.connect ${addr}: ${err}`);
  return c;
}

/** Common name of the certificate the server presented to c. */
function peercn(c: Conn): unknown {
  return (nodesocket(c) as TLSSocket).getPeerCertificate().subject.CN;
}

/** The CN a raw node:tls client sees, with or without an SNI name. */
async function rawcn(port: number, servername?: string): Promise<unknown> {
  const s = nodetls.connect({ host: "127.0.0.1", port, servername, rejectUnauthorized: false });
  await once(s, "secureConnect");
  const cn = s.getPeerCertificate().subject.CN;
  s.destroy();
  return cn;
}

/** An echo server: every line read is written back; ends on EOF. */
function echo(conn: Conn): Promise<void> {
  return (async () => {
    for (;;) {
      const [b] = await conn.read(Math.max(1, conn.unreadbytes()));
      if (b === undefined) break;
      await conn.write(b);
    }
    conn.close();
  })();
}

const str = (b: Buffer | undefined): string | undefined => b?.toString("latin1");

test("listen + connect with ca and hostname localhost: a round trip, accept as a task", async () => {
  const info = deferred<{ intask: boolean; alpn: string | undefined; remote: string }>();
  const l = await listen({
    accept: async (conn) => {
      info.resolve({ intask: task.running() !== undefined, alpn: conn.alpnproto, remote: conn.remoteaddr });
      await echo(conn);
    },
  });
  assert.is(l.addr, `127.0.0.1:${l.port}`);
  const c = await dial(l.addr, { ca, hostname: "localhost" });
  assert.is(c.remoteaddr, l.addr);
  assert.is(c.alpnproto, undefined);
  assert.equal(await c.write("hello over tls\n"), [true, undefined]);
  assert.is(str((await c.read("\n"))[0]), "hello over tls\n");
  const { intask, alpn, remote } = await info.promise;
  assert.ok(intask);
  assert.is(alpn, undefined);
  assert.is(remote, `127.0.0.1:${nodesocket(c).localPort}`);
  c.close();
  l.close();
});

test("conn verbs over TLS: read(n), read(delim), binary bytes, close, EOF with partial", async () => {
  const got = deferred<Conn>();
  const l = await listen({ accept: (conn) => got.resolve(conn) });
  const c = await dial(l.addr);
  const s = await got.promise;
  const rnd = randomBytes(1024 * 1024);
  await c.write(["line one\r\n", "ab", rnd, "cdEND!"]);
  assert.is(str((await s.read("\r\n"))[0]), "line one\r\n");
  assert.is(str((await s.read(2))[0]), "ab");
  assert.ok((await s.read(rnd.length))[0]?.equals(rnd), "1 MiB of random bytes survives");
  assert.is(str((await s.read("END!"))[0]), "cdEND!");
  assert.equal(await s.read(1, 10), [undefined, errno.TIMEDOUT]);
  await s.write("xy");
  assert.equal(s.close(), [true, undefined]);
  assert.equal(s.close(), [false, errno.CLOSED]);
  assert.equal(await s.read(1), [undefined, errno.CLOSED]);
  const [b, err, partial] = await c.read(5);
  assert.is(b, undefined);
  assert.is(err, errno.EOF);
  assert.is(str(partial), "xy");
  assert.not.ok(c.isalive());
  c.close();
  l.close();
});

test("an IP address is verified against the certificate's IP names and never sent as SNI", async () => {
  const l = await listen({ accept: (conn) => conn.close() });
  for (const opts of [{ ca }, { ca, hostname: "127.0.0.1" }]) {
    const c = await dial(l.addr, opts);
    assert.is(peercn(c), "localhost");
    assert.equal((await c.read(1))[1], errno.EOF);
    c.close();
  }
  const [c, err] = await tls.connect(l.addr, { ca, hostname: "127.0.0.2" });
  assert.is(c, undefined);
  assert.ok(String(err).startsWith(errno.TLS), err);
  assert.match(String(err), /127\.0\.0\.2/);
  l.close();
  assert.equal(warnings, []);
});

test("SNI picks the certificate by name (exact, wildcard); the first is the default", async () => {
  const l = await listen({ certs: [LOCALHOST, OTHER, WILD], accept: (conn) => conn.close() });
  const o = await dial(l.addr, { ca, hostname: "other.test" });
  assert.is(peercn(o), "other.test");
  o.close();
  const w = await dial(l.addr, { ca, hostname: "a.wild.test" });
  assert.is(peercn(w), "*.wild.test");
  w.close();
  const d = await dial(l.addr, { ca, hostname: "localhost" });
  assert.is(peercn(d), "localhost");
  d.close();
  assert.is(await rawcn(l.port), "localhost", "no SNI: the default cert");
  assert.is(await rawcn(l.port, "OTHER.TEST"), "other.test", "names compare without case");
  assert.is(await rawcn(l.port, "b.a.wild.test"), "localhost", "a wildcard covers one label only");
  assert.is(await rawcn(l.port, "unknown.test"), "localhost");
  // The name is verified: asking for a name the default cert does not carry fails.
  const [c, err] = await tls.connect(l.addr, { ca, hostname: "unknown.test" });
  assert.is(c, undefined);
  assert.ok(String(err).startsWith(errno.TLS), err);
  assert.match(String(err), /unknown\.test/);
  l.close();
});

test("ALPN: the server's preference among what the client offers, on both sides", async () => {
  const seen: (string | undefined)[] = [];
  const l = await listen({
    alpnprotos: ["h2", "http/1.1"],
    accept: (conn) => {
      seen.push(conn.alpnproto);
      conn.close();
    },
  });
  const cases: [string[] | undefined, string | undefined][] = [
    [["http/1.1"], "http/1.1"],
    [["http/1.1", "h2"], "h2"],
    [undefined, undefined],
  ];
  for (const [offer, want] of cases) {
    const c = await dial(l.addr, offer === undefined ? { ca } : { ca, alpnprotos: offer });
    assert.is(c.alpnproto, want, String(offer));
    assert.equal((await c.read(1))[1], errno.EOF); // the server's accept has run
    c.close();
  }
  assert.equal(seen, ["http/1.1", "h2", undefined]);
  const [c, err] = await tls.connect(l.addr, { ca, alpnprotos: ["spdy/1"] });
  assert.is(c, undefined);
  assert.ok(String(err).startsWith(errno.TLS), err);
  assert.match(String(err), /application protocol/);
  l.close();
});

test("an untrusted certificate is an error value naming the problem; verify:false accepts it", async () => {
  const l = await listen({ accept: (conn) => conn.close() });
  const [c, err] = await tls.connect(l.addr, { timeout: 10_000 });
  assert.is(c, undefined);
  assert.ok(String(err).startsWith(`${errno.TLS}: `), err);
  assert.match(String(err), /certificate/);
  const [c2, err2] = await tls.connect(l.addr, { hostname: "localhost", timeout: 10_000 });
  assert.is(c2, undefined);
  assert.match(String(err2), /certificate/);
  const ok = await dial(l.addr, { verify: false });
  assert.equal((await ok.read(1))[1], errno.EOF);
  ok.close();
  l.close();
});

test("transport errors keep their errno values", async () => {
  const l = await listen({ accept: () => {} });
  const addr = l.addr;
  l.close();
  assert.equal(await tls.connect(addr, { ca }), [undefined, errno.CONNREFUSED]);
  assert.equal(await tls.connect(`${NOHOST}:443`, { ca }), [undefined, errno.RESOLVE]);
  const [c, err] = await tls.connect("bad address", { ca });
  assert.is(c, undefined);
  assert.match(String(err), /invalid address/);
});

test("a TLS client to a plain TCP listener gets an error value, never a hang", async () => {
  // A server that never answers: the timeout bounds connect + handshake.
  const quiet = await tcp.listen({ addr: "127.0.0.1:0", accept: async (conn) => void (await conn.read(1e9), conn.close()) });
  const [c1, err1] = await tls.connect(quiet[0]!.addr, { ca, timeout: 100 });
  assert.is(c1, undefined);
  assert.is(err1, errno.TIMEDOUT);
  // A server that answers in plain text: a TLS error.
  const chatty = await tcp.listen({
    addr: "127.0.0.1:0",
    accept: async (conn) => {
      await conn.read(1);
      await conn.write("HTTP/1.1 400 Bad Request\r\n\r\n");
      conn.close();
    },
  });
  const [c2, err2] = await tls.connect(chatty[0]!.addr, { ca, timeout: 10_000 });
  assert.is(c2, undefined);
  assert.ok(String(err2).startsWith(errno.TLS), err2);
  quiet[0]!.close();
  chatty[0]!.close();
});

test("garbage from a plain TCP client does not hurt the TLS server; the next client is served", async () => {
  const l = await listen({ accept: echo });
  const [p, perr] = await tcp.connect(l.addr);
  if (p === undefined) throw new Error(perr);
  await p.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  // The server drops it (maybe after a TLS alert): the read ends with an error.
  let err: string | undefined;
  while (err === undefined) err = (await p.read(1, 10_000))[1];
  assert.ok(err === errno.EOF || err === errno.CONNRESET, err);
  p.close();
  // A client that starts a handshake record and resets mid-way.
  const raw = net.connect(l.port, "127.0.0.1");
  await once(raw, "connect");
  raw.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00]));
  raw.resetAndDestroy();
  // And one that connects and closes without a word.
  const mute = net.connect(l.port, "127.0.0.1");
  await once(mute, "connect");
  mute.end();
  await once(mute, "close");
  const c = await dial(l.addr);
  await c.write("still serving\n");
  assert.is(str((await c.read("\n"))[0]), "still serving\n");
  c.close();
  l.close();
});

test("listen with a certificate or key that does not load is an error value", async () => {
  const [l1, e1] = await tls.listen({ addr: "127.0.0.1:0", certs: [{ cert: "junk", key: "junk" }], accept: () => {} });
  assert.is(l1, undefined);
  assert.match(String(e1), /certs\[0\]/);
  const [l2, e2] = await tls.listen({
    addr: "127.0.0.1:0",
    certs: [LOCALHOST, { cert: LOCALHOST.cert, key: OTHER.key }],
    accept: () => {},
  });
  assert.is(l2, undefined);
  assert.match(String(e2), /certs\[1\].*mismatch/);
  assert.throws(() => tls.listen({ addr: "127.0.0.1:0", certs: [], accept: () => {} }), /certs/);
  const [l3, e3] = await tls.listen({ addr: "127.0.0.1:99999", certs: [LOCALHOST], accept: () => {} });
  assert.is(l3, undefined);
  assert.match(String(e3), /invalid address/);
});

test("listener.reload swaps certificates for new handshakes; a bad reload changes nothing", async () => {
  const l = await listen({ accept: (conn) => conn.close() });
  assert.is(await rawcn(l.port), "localhost");
  assert.equal(l.reload({ certs: [OTHER, LOCALHOST] }), [true, undefined]);
  assert.is(await rawcn(l.port), "other.test", "the new default");
  assert.is(await rawcn(l.port, "localhost"), "localhost", "SNI sees the new table");
  const [ok, err] = l.reload({ certs: [{ cert: "junk", key: "junk" }] });
  assert.is(ok, false);
  assert.match(String(err), /certs\[0\]/);
  assert.is(await rawcn(l.port), "other.test");
  l.close();
});

test('"[::1]:0" TLS, verified against the IPv6 name in the certificate', async () => {
  const [l, err] = await tls.listen({ addr: "[::1]:0", certs: [LOCALHOST], accept: echo });
  if (l === undefined) {
    assert.ok(err === errno.ADDRNOTAVAIL || err === errno.AFNOSUPPORT, `unexpected error ${err}`);
    return;
  }
  const c = await dial(l.addr);
  await c.write("v6\n");
  assert.is(str((await c.read("\n"))[0]), "v6\n");
  c.close();
  l.close();
});

test.run();
