// The built packages (dist/, through each package's `exports`) load in plain
// node: no tsx, no source condition.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

test("plain node imports dist and runs a task/channel program", () => {
  const program = `
    import task from "silly/task";
    import time from "silly/time";
    import silly from "silly";
    import channel from "silly-sync-channel";
    import errno from "silly/errno";
    const ch = channel.new();
    task.fork(async () => {
      for (let i = 1; i <= 3; i++) { ch.send(i); await time.sleep(1); }
      ch.close();
    });
    task.fork(async () => {
      let sum = 0;
      for await (const v of ch) sum += v;
      console.log("sum=" + sum + " eof=" + errno.EOF + " v=" + silly.version);
    });
  `;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { cwd: root, encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /^sum=6 eof=End of file v=\d+\.\d+\.\d+/);
});

test("every exported subpath resolves to a built file without tsx", () => {
  const subpaths = ["silly", "silly/task", "silly/time", "silly/logger", "silly/errno", "silly-sync-channel", "silly-store-redis"];
  const program = `for (const s of ${JSON.stringify(subpaths)}) { const m = await import(s); if (!m.default) throw new Error(s + " has no default export"); }
    console.log(import.meta.resolve("silly/task"));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", program], { cwd: root, encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /packages\/silly\/dist\/task\.js/);
});

test.run();
