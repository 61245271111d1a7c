// What the report says about the machine, and which tools the runner can use.
import { existsSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import os from "node:os";

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  ws: string;
  kernel: string;
  loadavg: number[];
  taskset: boolean;
  wrk: string | undefined;
  /** The `ulimit -n` every spawned process gets. */
  nofile: number;
  /** Why the preferred limit could not be set, when it could not. */
  nofileNote: string | undefined;
}

export const WANT_NOFILE = 65536;

function onPath(tool: string): string | undefined {
  const r = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8", timeout: 5000 });
  const p = r.stdout.trim();
  return r.status === 0 && p !== "" ? p : undefined;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (m !== null) return m[1]!.trim();
  } catch {
    // fall through
  }
  return os.cpus()[0]?.model ?? "unknown";
}

function wsVersion(root: string): string {
  try {
    const pkg = JSON.parse(readFileSync(`${root}/node_modules/ws/package.json`, "utf8")) as { version?: string };
    return pkg.version ?? "unknown";
  } catch {
    return "not installed";
  }
}

/** The highest open-files limit a child can get: WANT_NOFILE, else the hard limit. */
function probeNofile(): { nofile: number; note: string | undefined } {
  const r = spawnSync(
    "bash",
    ["-c", `if ulimit -n ${WANT_NOFILE} 2>/dev/null; then echo "ok $(ulimit -n)"; else echo "hard $(ulimit -Hn)"; fi`],
    { encoding: "utf8", timeout: 5000 },
  );
  const [kind, value] = r.stdout.trim().split(" ");
  const n = value === "unlimited" ? WANT_NOFILE : Number(value);
  if (kind === "ok") return { nofile: n, note: undefined };
  return {
    nofile: n,
    note: `ulimit -n ${WANT_NOFILE} not permitted here (hard limit ${value ?? "?"}); processes get ${n}`,
  };
}

export function describeMachine(root: string, useWrk: boolean): Machine {
  const { nofile, note } = probeNofile();
  const wrk = useWrk && existsSync("/usr/bin/wrk") ? "/usr/bin/wrk" : undefined;
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    node: process.version,
    ws: wsVersion(root),
    kernel: os.release(),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    taskset: onPath("taskset") !== undefined,
    wrk,
    nofile,
    nofileNote: note,
  };
}
