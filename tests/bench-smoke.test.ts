// A one-second smoke run that proves the benchmark pieces still work: our
// echo server from bench/servers and the load generator, which verifies echoes,
// and the permessage-deflate micro-benchmark in a tiny configuration.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Start one of bench/servers and wait for its PORT= line. */
async function start(script: string, ...args: string[]): Promise<{ port: string; server: ReturnType<typeof spawn> }> {
  const server = spawn(process.execPath, ["--conditions=source", "--import", "tsx", script, ...args], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  while (!/PORT=(\d+)/.test(out)) {
    const [chunk] = (await once(server.stdout!, "data")) as [Buffer];
    out += chunk.toString();
  }
  return { port: /PORT=(\d+)/.exec(out)![1]!, server };
}

test("bench: ours-ws.ts serves, loadgen.ts echoes and verifies for a second", async () => {
  const { port, server } = await start("bench/servers/ours-ws.ts");
  try {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "bench/loadgen.ts", "--mode", "echo", "--port", port, "-c", "4", "-p", "4", "-s", "32", "-d", "1", "-w", "0"],
      { cwd: root, encoding: "utf8", timeout: 60_000 },
    );
    assert.is(r.status, 0, r.stderr);
    const line = r.stdout.trim().split("\n").pop()!;
    const res = JSON.parse(line) as { ok: boolean; msgs: number; errors: number };
    assert.ok(res.ok, line);
    assert.is(res.errors, 0);
    assert.ok(res.msgs > 100, line);
  } finally {
    server.kill("SIGTERM");
    await once(server, "exit");
  }
});

test("bench: with permessage-deflate, loadgen.ts echoes compressed JSON with ours and ws, and measures idle memory", async () => {
  for (const script of ["bench/servers/ours-ws.ts", "bench/servers/ws-peer.ts"]) {
    const { port, server } = await start(script, "--compression");
    try {
      const gen = (args: string[]): Record<string, unknown> => {
        const r = spawnSync(process.execPath, ["--import", "tsx", "bench/loadgen.ts", "--port", port, "--deflate", ...args], { cwd: root, encoding: "utf8", timeout: 60_000 });
        assert.is(r.status, 0, `${script}: ${r.stdout} ${r.stderr}`);
        const line = r.stdout.trim().split("\n").pop()!;
        const res = JSON.parse(line) as Record<string, unknown>;
        assert.ok(res.ok, `${script}: ${line}`);
        return res;
      };
      for (const size of ["256", "16384"]) {
        const res = gen(["--mode", "echo", "-c", "3", "-p", "4", "-s", size, "-d", "1", "-w", "0", "--verify-every", "1"]);
        assert.ok((res.msgs as number) > 20, JSON.stringify(res));
        assert.ok((res.rx_bytes_per_msg as number) < Number(size) / 2, `${script}: echoes came compressed: ${JSON.stringify(res)}`);
      }
      const idle = gen(["--mode", "idle", "--pid", String(server.pid), "-n", "20", "--settle", "0", "--hold", "0"]);
      assert.is(idle.touched, 20);
    } finally {
      server.kill("SIGTERM");
      await once(server, "exit");
    }
  }
});

test("bench: idledeflate.ts prints RSS per idle connection, ours and ws, with and without compression", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", "bench/idledeflate.ts", "--conns", "20", "--rounds", "1", "--settle", "0"], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
  for (const side of ["ours, compression", "ws, perMessageDeflate", "ours, no compression", "ws, no compression"]) {
    assert.match(r.stdout, new RegExp(`\\| ${side} \\| -?[0-9.]+ KiB`));
  }
});

test("bench: deflate.ts prints its comparison table and its memory figures", () => {
  const run = (args: string[]): string => {
    const r = spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", "bench/deflate.ts", ...args], {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.is(r.status, 0, r.stderr);
    return r.stdout;
  };
  const table = run(["--rounds", "1", "--n256", "50", "--n16k", "5"]);
  for (const row of ["compress 256 B", "decompress 256 B", "compress 16 KiB", "decompress 16 KiB"]) assert.match(table, `| ${row} |`);
  assert.match(run(["--memory", "--conns", "20"]), /ours\/12 .* KiB\/conn/);
});

test("bench: the client row's three clients each make 200 checked GETs to ours-http.ts", async () => {
  const { port, server } = await start("bench/servers/ours-http.ts");
  try {
    for (const impl of ["ours", "node", "fetch"]) {
      const r = spawnSync(
        process.execPath,
        ["--conditions=source", "--import", "tsx", "bench/http-client.ts", "--impl", impl, "--port", port, "-n", "200", "-w", "0"],
        { cwd: root, encoding: "utf8", timeout: 60_000 },
      );
      assert.is(r.status, 0, `${impl}: ${r.stdout}${r.stderr}`);
      const res = JSON.parse(r.stdout.trim().split("\n").pop()!) as { ok: boolean; n: number; req_per_s: number };
      assert.ok(res.ok && res.n === 200 && res.req_per_s > 0, `${impl}: ${r.stdout}`);
    }
  } finally {
    server.kill("SIGTERM");
    await once(server, "exit");
  }
});

test.run();
