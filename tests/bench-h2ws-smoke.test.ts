// A smoke run of bench/h2ws.ts in a tiny configuration: its server starts,
// sockets open over one h2 connection and over TLS connections, echo, and
// the figures come out as the JSON line that pnpm bench reads.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

test("bench/h2ws.ts: 4 sockets over h2 and over TLS, memory and echo figures", () => {
  const r = spawnSync(
    process.execPath,
    ["--conditions=source", "--import", "tsx", "bench/h2ws.ts", "--sockets", "4", "--idle", "4", "--secs", "0.3", "--warmup", "0.1", "--rounds", "1"],
    { cwd: root, encoding: "utf8", timeout: 120_000 },
  );
  assert.is(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ok: boolean; cases: Record<string, Record<string, number>> };
  assert.ok(res.ok);
  for (const t of ["h2", "tcp"]) {
    const c = res.cases[t]!;
    for (const k of ["heap_per_socket", "rss_per_socket"]) assert.ok(Number.isFinite(c[k]), `${t} ${k}`);
    assert.is(c["connections"], t === "h2" ? 1 : 8, `${t} connections (4 sockets open, 4 more measured)`);
    assert.ok(c["echo32_per_s"]! > 0 && c["echo16k_per_s"]! > 0, `${t} echoes`);
  }
});

test.run();
