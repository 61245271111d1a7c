import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import env from "silly/env";

const dir = mkdtempSync(join(tmpdir(), "silly-env-"));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

test("parseargs takes --key=value only; values stay strings", () => {
  const m = env.parseargs(["main.ts", "--port=8080", "--server.host=0.0.0.0", "--empty=", "--eq=a=b", "--flag", "-x=1", "--=v"]);
  assert.equal([...m], [["port", "8080"], ["server.host", "0.0.0.0"], ["empty", ""], ["eq", "a=b"]]);
});

test("get/set use the literal key; undefined removes it", () => {
  assert.is(env.get("nothing.here"), undefined);
  env.set("server.port", 8080);
  assert.is(env.get("server.port"), 8080);
  assert.is(env.get("server"), undefined, "a dotted key is one flat key");
  env.set("server.port", undefined);
  assert.is(env.get("server.port"), undefined);
  assert.throws(() => env.set(1 as never, "x"), /key must be a string/);
});

test("load flattens nested objects; arrays and scalars are values; null is not set", () => {
  const f = file("config.json", JSON.stringify({
    server: { host: "0.0.0.0", port: 8080, tls: { enabled: true } },
    allowed: ["127.0.0.1", "::1"],
    debug: false,
    gone: null,
  }));
  assert.is(env.load(f), undefined);
  assert.is(env.get("server.host"), "0.0.0.0");
  assert.is(env.get("server.port"), 8080);
  assert.is(env.get("server.tls.enabled"), true);
  assert.equal(env.get("allowed"), ["127.0.0.1", "::1"]);
  assert.is(env.get("debug"), false);
  assert.is(env.get("gone"), undefined);
});

test("first writer wins: set and earlier files are not overwritten by later files", () => {
  env.set("db.host", "from code");
  const a = file("a.json", '{"db": {"host": "from a", "port": 1}, "only": "a"}');
  const b = file("b.json", '{"db": {"port": 2}, "only": "b", "extra": "b"}');
  assert.is(env.load(a), undefined);
  assert.is(env.load(b), undefined);
  assert.is(env.get("db.host"), "from code");
  assert.is(env.get("db.port"), 1);
  assert.is(env.get("only"), "a");
  assert.is(env.get("extra"), "b");
  env.set("db.port", 3); // set always writes
  assert.is(env.get("db.port"), 3);
});

test("load reports a missing file, bad JSON and a non-object as values", () => {
  assert.match(env.load(join(dir, "missing.json"))!, /cannot read .*missing\.json/);
  assert.match(env.load(file("bad.json", "{ port: 1 }"))!, /not valid JSON/);
  assert.match(env.load(file("arr.json", "[1, 2]"))!, /JSON object at the top level/);
  assert.match(env.load(file("str.json", '"x"'))!, /JSON object/);
});

test("the command line is read on first use and wins over files", () => {
  const cfg = file("cli.json", '{"port": 9000, "server": {"workers": 4}}');
  const program = `
    import env from "silly/env";
    const err = env.load(${JSON.stringify(cfg)});
    console.log(JSON.stringify([err ?? null, env.get("port"), env.get("server.workers"), env.get("env"), env.get("flag") ?? null]));
  `;
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, "--input-type=module", "-e", program, "--", "--port=8080", "--env=production", "--flag"],
    { encoding: "utf8" },
  );
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), [null, "8080", 4, "production", null]);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
