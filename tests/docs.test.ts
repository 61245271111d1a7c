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

let redis: RedisServer | undefined;

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
let count = 0;
let needsredis = false;
for (const page of pages) {
  const blocks = extract(page, readFileSync(join(root, page), "utf8"));
  for (const b of blocks) {
    needsredis ||= b.code.includes("REDIS_ADDR");
    const file = join(outdir, `${page.replace(/[/.]/g, "_")}_${b.line}.ts`);
    writeFileSync(file, b.code);
    count++;
    test(`${page}:${b.line} runs`, async () => {
      const r = await run(file);
      assert.is(r.code, 0, `${page}:${b.line} exited ${r.code}:\n${r.out}`);
    });
  }
}

test.before(async () => {
  if (needsredis) redis = await startredis();
});

test.after(async () => {
  await redis?.stop();
});

test("the docs have runnable blocks", () => {
  assert.ok(count > 0, "no ```ts run blocks found");
});

test.run();
