// A tiny run of the chat benchmark (bench/chat.ts), so that its rows keep
// working: every case starts, its clients connect, messages are delivered
// and timed, and the JSON line has the figures the report shows.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { root } from "./lib/chat.js";

test("bench/chat.ts: ours on 2 processes + Redis, ours on 1, ws + node-redis on 2, in a tiny configuration", () => {
  const args = ["--secs", "0.5", "--warmup", "0.3", "--settle", "0.3", "--clients", "30", "--senders", "3"];
  const r = spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", "bench/chat.ts", ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.is(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ok: boolean; reasons: string[]; cases: Record<string, Record<string, number>> };
  assert.ok(res.ok, res.reasons.join("; "));
  for (const name of ["ours2", "ours1", "ref2"]) {
    const c = res.cases[name]!;
    assert.ok(c.delivered_per_s > 0, `${name}: ${JSON.stringify(c)}`);
    assert.ok(c.p99_us >= c.p50_us && c.p50_us > 0, `${name}: ${JSON.stringify(c)}`);
    assert.is(c.lost, 0, name);
    for (const k of ["server_cpu", "redis_cpu", "gen_cpu", "other_cpu"]) assert.type(c[k], "number", `${name}.${k}`);
  }
});

test.run();
