// A process that speaks only plain HTTP/1.1 and WebSocket does not carry the
// TLS and HTTP/2 code (node:tls, node:http2 and ours): loading those on top
// of it must still add their weight, which it would not if they were in
// already. The HTTPS and HTTP/2 suites cover that they load when needed.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

function run(...flags: string[]): { echo: string; body: string; heap: number } {
  const r = spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", "tests/lib/plainheap.ts", ...flags], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.is(r.status, 0, `child failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { echo: string; body: string; heap: number };
}

test("plain HTTP/1.1 and WebSocket, server and client, leave node:tls and node:http2 unloaded", () => {
  const plain = run();
  const preloaded = run("--preload");
  assert.is(plain.echo, "ping");
  assert.is(plain.body, "ok");
  // node:tls with node:http2 weigh ~0.8 MB of live heap on Node 20.
  const extra = preloaded.heap - plain.heap;
  assert.ok(extra > 400_000, `loading node:tls and node:http2 added only ${extra} bytes: were they loaded already?`);
});

test.run();
