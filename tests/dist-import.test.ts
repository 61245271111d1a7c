// The built packages (dist/, through each package's `exports`) load in plain
// node: no tsx, no source condition.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

test("plain node imports dist and runs a task/channel program", () => {
  const program = `
    import task from "silly/task";
    import time from "silly/time";
    import silly from "silly";
    import channel from "silly-sync-channel";
    import errno from "silly/errno";
    const ch = channel.new();
    task.fork(async () => {
      for (let i = 1; i <= 3; i++) { ch.send(i); await time.sleep(1); }
      ch.close();
    });
    task.fork(async () => {
      let sum = 0;
      for await (const v of ch) sum += v;
      console.log("sum=" + sum + " eof=" + errno.EOF + " v=" + silly.version);
    });
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { cwd: root, encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sum=6 eof=End of file v=\d+\.\d+\.\d+/);
});

test("every exported subpath resolves to a built file without tsx", () => {
  const subpaths = [
    "silly", "silly/task", "silly/time", "silly/logger", "silly/errno", "silly/env", "silly/signal",
    "silly/net/tcp", "silly/net/tls",
    "silly-net-http", "silly-net-websocket",
    "silly-sync-channel", "silly-sync-waitgroup", "silly-sync-mutex", "silly-sync-singleflight",
    "silly-metrics/counter", "silly-metrics/gauge", "silly-metrics/histogram", "silly-metrics/registry",
    "silly-metrics/collector", "silly-metrics/collector/process", "silly-metrics/collector/silly",
    "silly-metrics/prometheus",
    "silly-store-redis",
  ];
  const program = `for (const s of ${JSON.stringify(subpaths)}) { const m = await import(s); if (!m.default) throw new Error(s + " has no default export"); }
    console.log(import.meta.resolve("silly/task"));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { cwd: root, encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /packages\/silly\/dist\/task\.js/);
});

// ---- the built declarations show the public API only ----

const PACKAGES = readdirSync(join(root, "packages"));

/** Each package's public entry points: [subpath, its built .d.ts]. */
function entries(): [string, string][] {
  const out: [string, string][] = [];
  for (const p of PACKAGES) {
    const dir = join(root, "packages", p);
    const pj = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name: string; exports: Record<string, { types: string }> };
    for (const [k, e] of Object.entries(pj.exports)) out.push([k === "." ? pj.name : `${pj.name}/${k.slice(2)}`, resolve(dir, e.types)]);
  }
  return out;
}

/** The .d.ts files `from` reaches through relative imports and re-exports, itself included. */
function reachable(from: string): string[] {
  const seen = new Set<string>();
  const todo = [from];
  while (todo.length > 0) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    for (const m of readFileSync(f, "utf8").matchAll(/from "(\.{1,2}\/[^"]+)\.js"/g)) todo.push(resolve(dirname(f), `${m[1]}.d.ts`));
  }
  return [...seen];
}

/** Declarations without comments. */
function code(f: string): string {
  return readFileSync(f, "utf8").replace(/\/\*[^]*?\*\//g, "").replace(/\/\/.*$/gm, "");
}

// Names that are a protocol layer's or a package's own business. The protocol
// subpaths (silly/net/protocol, silly-net-http/protocol) are the public places
// where the protocol-layer verbs appear.
const INTERNAL = [
  "takeover", "flowing", "refusal", "queued", "stage", "stagebuf", "unstage", "isflushing", "writeinto",
  "watch", "abort", "socket", "direct", "onsettle", "endfn", "endarg", "Consumer", "Watcher",
  "acceptor", "acceptnow", "guardaccept", "markdirect", "checktimeout", "whenconnected", "localof",
  "causeof", "flushlater", "flushpending",
  // silly-net-websocket's codec and I/O plumbing
  "FrameParser", "ParserSink", "Protocol", "ProtocolHost", "ProtocolOptions", "Transport", "conntransport", "Timed", "Inbox",
  "encodemessage", "encodeinto", "checksocketoptions", "BUDGET_FLOOR", "onmessage", "onend", "caughtup", "transmit",
  "closetransport", "settimer", "ontime",
];
const PROTOCOL_VERBS = new Set(["takeover", "flowing", "writeinto", "watch", "abort", "direct", "onsettle", "Consumer", "Watcher"]);

test("the built .d.ts of every public entry point shows no internal name", () => {
  const es = entries();
  assert.ok(es.some(([name]) => name === "silly/net/tcp"), "entry points found");
  const problems: string[] = [];
  for (const [name, dts] of es) {
    assert.ok(existsSync(dts), `${name}: ${dts} is built`);
    for (const f of reachable(dts)) {
      const where = `${name} -> ${relative(root, f)}`;
      if (readFileSync(f, "utf8").includes("@internal")) problems.push(`${where}: an @internal declaration was not stripped`);
      const text = code(f);
      const isprotocol = f.endsWith(join("silly", "dist", "net", "protocol.d.ts")) || f.endsWith(join("silly-net-http", "dist", "protocol.d.ts"));
      for (const n of INTERNAL) {
        if (isprotocol && PROTOCOL_VERBS.has(n)) continue;
        if (new RegExp(`(^|[^\\w."'])${n}\\b(?![."'])`, "m").test(text)) problems.push(`${where}: mentions ${n}`);
      }
    }
  }
  assert.equal(problems, []);
});

test("silly-net-websocket's declarations reach none of its codec but the Budget and message types", () => {
  const dist = join(root, "packages", "silly-net-websocket", "dist");
  const got = reachable(join(dist, "index.d.ts")).map((f) => relative(dist, f)).sort();
  assert.equal(got, ["client.d.ts", "codec/budget.d.ts", "codec/types.d.ts", "index.d.ts", "server.d.ts", "socket.d.ts"]);
});

/** The member names a built class declaration shows. */
function members(dts: string, cls: string): string[] {
  const text = code(join(root, "packages", dts));
  const m = new RegExp(`declare class ${cls}\\b[^{]*\\{([^]*?)\\n\\}`).exec(text);
  assert.ok(m !== null, `${cls} in ${dts}`);
  const names = new Set<string>();
  for (const line of m[1]!.split("\n")) {
    const d = /^ {4}(?:static |readonly |get |set )*(#?\w+)/.exec(line);
    if (d !== null) names.add(d[1]!);
  }
  return [...names].sort();
}

test("the application-facing Conn, Listener, Task, Socket and Budget declare their public members only", () => {
  assert.equal(members("silly/dist/net/conn.d.ts", "Conn"), ["#private", "alpnproto", "close", "isalive", "limit", "read", "remoteaddr", "unreadbytes", "unsentbytes", "write"]);
  assert.equal(members("silly/dist/net/listener.d.ts", "Listener"), ["#private", "addr", "close", "port"]);
  assert.equal(members("silly/dist/task.d.ts", "Task"), ["constructor", "id", "name"]);
  assert.equal(members("silly-net-websocket/dist/socket.d.ts", "Socket"), [
    "#private", "close", "closecode", "closereason", "conn", "isalive", "read", "stream", "write",
  ]);
  assert.equal(members("silly-net-websocket/dist/codec/budget.d.ts", "Budget"), ["constructor", "limit", "used"]);
});

test("silly-net-http's built .d.ts declare its public API and nothing else", () => {
  const dist = join(root, "packages", "silly-net-http", "dist");
  const files = reachable(join(dist, "index.d.ts")).map((f) => relative(dist, f)).sort();
  assert.equal(files, ["client.d.ts", "index.d.ts", "server.d.ts", "types.d.ts"], "the entry reaches no internal module");
  const forprotocols = reachable(join(dist, "protocol.d.ts")).map((f) => relative(dist, f)).sort();
  assert.equal(forprotocols, ["protocol.d.ts", "types.d.ts"], "the protocol subpath reaches no internal module");
  files.push("protocol.d.ts");
  const PUBLIC = [
    "listen", "get", "post", "request", "Server", "http", "ListenConf", "ListenResult", "CloseResult", "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUTS", "ServerStream", "ClientStream", "RequestOptions", "RequestResult", "ReadHeaderResult", "FetchResult",
    "Response", "ResponseHead", "Header", "HeaderInput", "Body", "WriteResult", "ReadResult", "ReadAllResult", "Limits", "Timeouts",
    "NOEXTENDEDCONNECT", "Tunnel", "tunnel", "protocol",
  ];
  const problems: string[] = [];
  for (const f of files) {
    const text = code(join(dist, f));
    if (/(^|\s)(private|protected)\s/m.test(text)) problems.push(`${f}: declares private or protected members`);
    for (const m of text.matchAll(/^(?:export )?(?:declare )?(?:const|function|class|interface|type) (\w+)/gm)) {
      if (!PUBLIC.includes(m[1]!)) problems.push(`${f}: declares ${m[1]}`);
    }
  }
  assert.equal(problems, []);
  assert.equal(members("silly-net-http/dist/server.d.ts", "Server"), ["#private", "addr", "close", "port"]);
});

test("public entry points export no internal helper at run time", () => {
  const subpaths = entries().map(([name]) => name);
  const program = `const out = {}; for (const s of ${JSON.stringify(subpaths)}) { const m = await import(s); out[s] = [...Object.keys(m), ...Object.keys(m.default ?? {})]; }
    console.log(JSON.stringify(out));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { cwd: root, encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  const keys = JSON.parse(r.stdout) as Record<string, string[]>;
  const problems: string[] = [];
  for (const [s, ks] of Object.entries(keys)) {
    for (const k of ks) {
      if (INTERNAL.includes(k) && !(s === "silly/net/protocol" && PROTOCOL_VERBS.has(k))) problems.push(`${s} exports ${k}`);
    }
  }
  assert.equal(problems, []);
  assert.ok(keys["silly/net/protocol"]!.includes("takeover"), "the protocol subpath exports its verbs");
});

test.run();
