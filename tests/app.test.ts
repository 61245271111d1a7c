// "Your own app": `silly new` in a temporary folder outside the checkout, then
// the two commands of the template, `npm run check` and `npm start`, with
// nothing installed and no network.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { portfree, start } from "./lib/child.js";
import { family, parse } from "./lib/promtext.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "silly-app-"));
const app = join(tmp, "myapp");
const env = { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };

function npm(args: string[]) {
  return spawnSync("npm", args, { cwd: app, encoding: "utf8", env, timeout: 60_000 });
}

test("silly new copies the template and links node_modules to the workspace", () => {
  const r = spawnSync(process.execPath, [join(root, "packages/silly/bin/silly.js"), "new", app], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /npm start -- --port=8080/);
  for (const f of ["main.ts", "package.json", "tsconfig.json", "README.md"]) assert.ok(existsSync(join(app, f)), f);
  assert.is(realpathSync(join(app, "node_modules/silly")), realpathSync(join(root, "packages/silly")));
  assert.is(realpathSync(join(app, "node_modules/silly-net-http")), realpathSync(join(root, "packages/silly-net-http")));
  for (const tool of ["typescript", "tsx", "@types/node", ".bin/silly", ".bin/tsc"]) {
    assert.ok(existsSync(join(app, "node_modules", tool)), tool);
  }
  assert.not.ok(realpathSync(app).startsWith(realpathSync(root)), "the app is outside the checkout");
});

test("npm run check type-checks the app, and catches a type error", () => {
  const ok = npm(["run", "check"]);
  assert.is(ok.status, 0, ok.stdout + ok.stderr);
  writeFileSync(join(app, "wrong.ts"), `import time from "silly/time";\nawait time.sleep("ten");\n`);
  const bad = npm(["run", "check"]);
  assert.is(bad.status !== 0, true);
  assert.match(bad.stdout + bad.stderr, /wrong\.ts.*error TS2345/);
  rmSync(join(app, "wrong.ts"));
});

test("npm start runs the app; SIGTERM to npm stops it and frees the port", async () => {
  const c = start("npm", ["start", "--", "--port=0"], { cwd: app, env });
  const [, addr] = await c.waitfor(/listening on http:\/\/(127\.0\.0\.1:\d+)\//, 60_000);
  const hello = await fetch(`http://${addr}/`);
  assert.match(await hello.text(), /^Hello from silly \d+\.\d+\.\d+\n$/);
  const families = parse(await (await fetch(`http://${addr}/metrics`)).text());
  assert.equal(family(families, "app_requests_total").metrics, [{ value: "1", labels: { path: "/" } }]);
  c.proc.kill("SIGTERM");
  await c.waitfor(/SIGTERM: stopping/);
  await c.exited();
  assert.ok(await portfree(Number(addr!.split(":")[1])), "the app still listens");
});

test("silly new on an existing app keeps its files and relinks", () => {
  writeFileSync(join(app, "main.ts"), "// mine\n");
  const r = spawnSync(process.execPath, [join(root, "packages/silly/bin/silly.js"), "new", app], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.is(readFileSync(join(app, "main.ts"), "utf8"), "// mine\n");
  assert.ok(existsSync(join(app, "node_modules/silly-sync-channel/package.json")));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
