#!/usr/bin/env node
// Runs every tests/**/*.test.ts in its own Node process (TypeScript through
// tsx, workspace packages from their sources), two at a time, each with a
// time limit, and ends with the totals line "N passed, M failed".
//   node scripts/test.mjs [filter...]   only files whose path contains a filter
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const filters = process.argv.slice(2);
const LIMIT_MS = Number(process.env.TEST_TIMEOUT_MS ?? 180_000);
const EXIT_GRACE_MS = 5_000;
const JOBS = Number(process.env.TEST_JOBS ?? 2);

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === "node_modules" || name === "fixtures") continue;
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const files = walk(join(root, "tests")).filter(
  (f) => filters.length === 0 || filters.some((x) => f.includes(x)),
);
// Suites that run a second time with a fallback switched on, so both paths
// stay covered: the public net.Socket path (packages/silly/src/net/fastread.ts
// and handlesocket.ts),
// AsyncLocalStorage as the task identity carrier (internal/identity.ts), and
// zlib's public one-shot functions for permessage-deflate (silly-net-websocket/src/deflate.ts).
const VARIANTS = [
  { env: { SILLY_FASTREAD: "0" }, suites: ["tcp.test.ts", "serverconn.test.ts", "protocol.test.ts", "websocket.test.ts", "http-server.test.ts", "redis.test.ts"] },
  { env: { SILLY_TASKCONTEXT: "als" }, suites: ["task.test.ts", "time.test.ts", "channel.test.ts", "http-server.test.ts"] },
  { env: { SILLY_FASTZLIB: "0" }, suites: ["websocket-deflate.test.ts", "websocket-compression.test.ts"] },
];
const jobs = files.flatMap((f) => [
  { file: f, env: {}, label: "" },
  ...VARIANTS.filter((v) => v.suites.some((n) => f.endsWith(n))).map((v) => ({
    file: f,
    env: v.env,
    label: ` [${Object.entries(v.env).map(([k, x]) => `${k}=${x}`).join(" ")}]`,
  })),
]);

function runfile({ file, env, label }) {
  return new Promise((resolve) => {
    const rel = relative(root, file) + label;
    const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let note = "";
    let finishedAt = 0;
    const onData = (d) => {
      out += d;
      if (!finishedAt && /Total:\s+\d+[\s\S]*Duration:/.test(out)) {
        finishedAt = Date.now();
        // uvu has printed its summary: the process must now exit on its own.
        setTimeout(() => {
          if (child.exitCode === null) {
            note = `did not exit within ${EXIT_GRACE_MS} ms after its tests (open handles)`;
            child.kill("SIGKILL");
          }
        }, EXIT_GRACE_MS).unref();
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    const timer = setTimeout(() => {
      note = `timed out after ${LIMIT_MS} ms`;
      child.kill("SIGKILL");
    }, LIMIT_MS);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const num = (label) => Number(out.match(new RegExp(`${label}:\\s+(\\d+)`))?.[1] ?? NaN);
      let total = num("Total"), passed = num("Passed"), skipped = num("Skipped");
      let failed;
      if (Number.isNaN(total)) {
        total = 1; passed = 0; failed = 1; skipped = 0;
        note ||= `crashed before reporting (exit ${code ?? signal})`;
      } else {
        failed = total - passed - (skipped || 0);
        if (skipped > 0) { failed += skipped; note ||= "skipped tests count as failures"; }
        if ((code !== 0 || note) && failed === 0) { failed = 1; note ||= `exit ${code ?? signal}`; }
      }
      resolve({ rel, passed, failed, out, note });
    });
  });
}

const queue = [...jobs];
const results = [];
async function worker() {
  while (queue.length) {
    const f = queue.shift();
    const r = await runfile(f);
    results.push(r);
    const mark = r.failed ? "FAIL" : "ok  ";
    console.log(`${mark} ${r.rel}: ${r.passed} passed, ${r.failed} failed${r.note ? ` (${r.note})` : ""}`);
    if (r.failed || process.env.TEST_VERBOSE) console.log(r.out.replace(/^/gm, "    | "));
  }
}
await Promise.all(Array.from({ length: Math.min(JOBS, jobs.length) }, worker));
const passed = results.reduce((a, r) => a + r.passed, 0);
const failed = results.reduce((a, r) => a + r.failed, 0);
if (files.length === 0) console.log("no test files matched");
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed || files.length === 0 ? 1 : 0);
