// Every ```ts run block in docs/*.md and README.md is a complete program: it
// is extracted and run as its own process (cwd = repo root) and must exit 0
// within the time limit. So the docs cannot rot. Blocks that read
// process.env.REDIS_ADDR get the address of a redis-server started for them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deferred } from "./lib/deferred.js";
import { startredis } from "./lib/redis.js";
import type { RedisServer } from "./lib/redis.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const outdir = join(root, ".tmp", "docblocks");
const LIMIT_MS = 30_000;

interface Block {
  page: string;
  line: number;
  code: string;
}

export function extract(page: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (!/^```ts run\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let j = start;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) j++;
    blocks.push({ page, line: start, code: lines.slice(start, j).join("\n") + "\n" });
    i = j;
  }
  return blocks;
}

function run(file: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", file], {
      cwd: root,
      env: redis === undefined ? process.env : { ...process.env, REDIS_ADDR: redis.addr },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[killed after ${LIMIT_MS} ms]`;
      child.kill("SIGKILL");
    }, LIMIT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

const pages = [
  ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f)),
  "README.md",
];
mkdirSync(outdir, { recursive: true });
const files: { name: string; file: string }[] = [];
let needsredis = false;
for (const page of pages) {
  for (const b of extract(page, readFileSync(join(root, page), "utf8"))) {
    const file = join(outdir, `${page.replace(/[/.]/g, "_")}_${b.line}.ts`);
    writeFileSync(file, b.code);
    files.push({ name: `${page}:${b.line}`, file });
    needsredis ||= b.code.includes("REDIS_ADDR");
  }
}
const count = files.length;

// The blocks share one redis-server (each uses keys of its own). Without one
// they still run, and those that need it fail with this reason in their output.
let redis: RedisServer | undefined;
const redisready = needsredis
  ? startredis().then(
      (s) => void (redis = s),
      (err: unknown) => console.error(`docs: no redis-server for the blocks that use REDIS_ADDR: ${String(err)}`),
    )
  : Promise.resolve();

// Most of a block's time is starting node and tsx, so two run at once; the
// tests then report in page order.
const JOBS = 2;
const results = files.map(() => deferred<{ code: number | null; out: string }>());
let next = 0;
async function worker(): Promise<void> {
  while (next < files.length) {
    const i = next++;
    results[i]!.resolve(await run(files[i]!.file));
  }
}
for (let j = 0; j < JOBS; j++) void redisready.then(worker);

files.forEach(({ name }, i) => {
  test(`${name} runs`, async () => {
    const r = await results[i]!.promise;
    assert.is(r.code, 0, `${name} exited ${r.code}:\n${r.out}`);
  });
});

test.after(async () => {
  await redis?.stop();
});

test("the docs have runnable blocks", () => {
  assert.ok(count > 0, "no ```ts run blocks found");
});

test.run();
