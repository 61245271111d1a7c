// Every ```ts run block in docs/*.md and README.md is a complete program: it
// is extracted and run as its own process (cwd = repo root) and must exit 0
// within the time limit. So the docs cannot rot. Blocks that read
// process.env.REDIS_ADDR get the address of a redis-server started for them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
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

/** Run node with `args` from the repo root; killed after `ms`. */
function node(args: string[], ms: number, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[killed after ${ms} ms]`;
      child.kill("SIGKILL");
    }, ms);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

function run(file: string): Promise<{ code: number | null; out: string }> {
  const env = redis === undefined ? process.env : { ...process.env, REDIS_ADDR: redis.addr };
  return node(["--conditions=source", "--import", "tsx", file], LIMIT_MS, env);
}

const pages = [
  ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => join("docs", f)),
  "README.md",
];
rmSync(outdir, { recursive: true, force: true }); // no blocks of older versions of the pages
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

// The blocks also type-check as they are (strict, as the packages): an
// example that runs but would not compile in a user's project is a defect.
test("every block type-checks", async () => {
  writeFileSync(
    join(outdir, "tsconfig.json"),
    JSON.stringify({
      extends: "../../tsconfig.base.json",
      compilerOptions: { noEmit: true, composite: false, declaration: false, declarationMap: false, rootDir: "../..", lib: ["ES2023", "DOM"], customConditions: ["source"] },
      include: ["./*.ts"],
    }),
  );
  const r = await node([join(root, "node_modules", "typescript", "bin", "tsc"), "-p", join(outdir, "tsconfig.json")], 120_000);
  assert.is(r.code, 0, `tsc found errors in the docs' blocks (files under .tmp/docblocks are named page_line):\n${r.out}`);
});

test("the docs have runnable blocks", () => {
  assert.ok(count > 0, "no ```ts run blocks found");
});

test.run();
