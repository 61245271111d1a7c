// The `silly` command (packages/silly/bin/silly.js, built code) and `pnpm start`:
// entries run from folders outside the workspace, options, and stopping.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import websocket from "silly-net-websocket";
import { portfree, start } from "./lib/child.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "packages/silly/bin/silly.js");
const outside = mkdtempSync(join(tmpdir(), "silly-runner-"));

function silly(args: string[], cwd = outside) {
  return spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", timeout: 30_000 });
}

test("--help, --version, and usage errors without a stack trace", () => {
  const help = silly(["--help"]);
  assert.is(help.status, 0);
  assert.match(help.stdout, /^usage: silly /);
  assert.match(silly(["--version"]).stdout, /^silly \d+\.\d+\.\d+ \(Node\.js v\d+/);
  for (const [args, why] of [
    [[], /no ENTRY file given/],
    [["--bogus", "main.ts"], /unknown option --bogus/],
    [["nothere.ts"], /cannot find nothere\.ts/],
    [["--loglevel=loud", "x.ts"], /--loglevel must be debug, info, warn or error/],
  ] as const) {
    const r = silly([...args]);
    assert.is(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /usage: silly/);
    assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
  }
});

test("a .ts entry outside the workspace, with no node_modules: silly packages resolve, --key=value lands in env", () => {
  writeFileSync(join(outside, "main.ts"), `
    import env from "silly/env";
    import logger from "silly/logger";
    import task from "silly/task";
    import http from "silly-net-http";
    import channel from "silly-sync-channel";
    const port: unknown = env.get("port");
    logger.debug("debug is on");
    console.log(JSON.stringify({ port, name: env.get("name"), argv1: process.argv[1], rest: process.argv.slice(2),
      http: typeof http.listen, ch: typeof channel.new }));
    task.fork(async () => console.log("in a task:", task.running() !== undefined));
  `);
  const r = silly(["main.ts", "--port=8080", "--name=a b", "--", "plain"]);
  assert.is(r.status, 0, r.stderr);
  const [line, tasked] = r.stdout.trim().split("\n");
  assert.equal(JSON.parse(line!), {
    port: "8080", name: "a b", argv1: join(outside, "main.ts"), rest: ["--port=8080", "--name=a b", "--", "plain"],
    http: "function", ch: "function",
  });
  assert.is(tasked, "in a task: true");
  assert.not.match(r.stderr, /debug is on/);
  const dbg = silly(["--loglevel=debug", "main.ts"]);
  assert.match(dbg.stderr, / D debug is on/);
  const dbg2 = silly(["main.ts", "--loglevel=debug"]);
  assert.match(dbg2.stderr, / D debug is on/);
});

test("a .js entry runs too, and its errors are its own", () => {
  writeFileSync(join(outside, "plain.js"), `import time from "silly/time"; await time.sleep(1); console.log("slept");`);
  const r = silly(["plain.js"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, "slept\n");
  writeFileSync(join(outside, "broken.js"), `throw new Error("app failed at load");`);
  const b = silly(["broken.js"]);
  assert.is(b.status, 1);
  assert.match(b.stderr, /app failed at load/);
});

async function chatclient(addr: string) {
  const [sock, err] = await websocket.connect(`ws://${addr}/ws?name=watcher`);
  assert.ok(sock, err);
  return sock!;
}

/** Read until the server closes; resolve with its close code. */
async function closecode(sock: Awaited<ReturnType<typeof chatclient>>): Promise<number | undefined> {
  for (;;) {
    const [data, typ] = await sock.read();
    if (data === undefined || typ === "close") break;
  }
  await sock.close();
  return sock.closecode;
}

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  test(`${sig} to the command stops the app: sockets closed with 1001, exit 0, port free`, async () => {
    const c = start(process.execPath, [bin, "examples/chat/main.ts", "--addr=127.0.0.1:0"], { cwd: root });
    const [, addr] = await c.waitfor(/listening on (127\.0\.0\.1:\d+)/);
    const sock = await chatclient(addr!);
    c.proc.kill(sig);
    assert.is(await closecode(sock), 1001);
    assert.is((await c.exited()).code, 0, c.output());
    assert.ok(await portfree(Number(addr!.split(":")[1])));
  });
}

test("stopping `pnpm start` (SIGTERM to pnpm) stops the chat server", async () => {
  const pnpm = process.env.npm_execpath?.includes("pnpm") ? [process.execPath, process.env.npm_execpath] : ["pnpm"];
  const c = start(pnpm[0]!, [...pnpm.slice(1), "start", "--addr=127.0.0.1:0"], { cwd: root });
  const [, addr] = await c.waitfor(/listening on (127\.0\.0\.1:\d+)/, 60_000);
  const sock = await chatclient(addr!);
  c.proc.kill("SIGTERM");
  assert.is(await closecode(sock), 1001);
  await c.exited();
  assert.ok(await portfree(Number(addr!.split(":")[1])), "the chat server still listens after pnpm stopped");
});

test("the chat's usage line and --help", () => {
  const bad = silly([join(root, "examples/chat/main.ts"), "--port", "9000"], root);
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /^chat: write --port=VALUE, not --port VALUE\nusage: pnpm start/);
  assert.not.match(bad.stderr, /\n\s+at /);
  const unknown = silly([join(root, "examples/chat/main.ts"), "--colour=red"], root);
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, /unknown argument "--colour=red"/);
  const help = silly([join(root, "examples/chat/main.ts"), "--help"], root);
  assert.is(help.status, 0);
  assert.match(help.stdout, /^usage: pnpm start \[--addr=HOST:PORT \| --port=PORT\]/);
});

test.after(() => rmSync(outside, { recursive: true, force: true }));

test.run();
