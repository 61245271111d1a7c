// Starting servers and load generators as separate processes: each through bash
// (to raise `ulimit -n`), pinned to one CPU with taskset when available, in its own
// process group so that stopping it also stops its helpers (tsx's esbuild).
import { spawn, type ChildProcess } from "node:child_process";

export interface Placement {
  /** CPU to pin to, or undefined to leave unpinned. */
  cpu: number | undefined;
  nofile: number;
  cwd: string;
}

const live = new Set<ChildProcess>();

function wrap(cmd: readonly string[], p: Placement): ChildProcess {
  const pinned = p.cpu === undefined ? [...cmd] : ["taskset", "-c", String(p.cpu), ...cmd];
  const child = spawn("bash", ["-c", `ulimit -n ${p.nofile} 2>/dev/null; exec "$@"`, "bench-spawn", ...pinned], {
    cwd: p.cwd,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
  });
  live.add(child);
  child.once("exit", () => live.delete(child));
  return child;
}

/** Stops every process group this module started that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((c) => stopChild(c)));
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  killGroup(child, "SIGTERM");
  if (await exited(child, 2000)) return;
  killGroup(child, "SIGKILL");
  await exited(child, 2000);
}

export interface Server {
  pid: number;
  port: number;
  /** What the server announced with IMPL=, or "" when it did not. */
  impl: string;
  /** undefined while running; how it ended (and its last stderr) once it has exited on its own. */
  death(): string | undefined;
  stop(): Promise<void>;
}

/** Starts a server and waits for its `PORT=<n>` line. */
export function startServer(cmd: readonly string[], p: Placement, timeoutMs: number): Promise<Server> {
  const child = wrap(cmd, p);
  let out = "";
  let err = "";
  let impl = "";
  return new Promise<Server>((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stopChild(child).then(() => reject(new Error(`${cmd.join(" ")}: ${why}${err ? `; stderr: ${err.slice(-600)}` : ""}`)));
    };
    const timer = setTimeout(() => fail(`no PORT= line within ${timeoutMs} ms`), timeoutMs);
    child.stderr?.on("data", (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child.stdout?.on("data", (d: Buffer) => {
      if (settled) return;
      out += d.toString();
      const im = /^IMPL=(.*)$/m.exec(out);
      if (im !== null) impl = im[1]!.trim();
      const m = /^PORT=(\d+)\s*$/m.exec(out);
      if (m === null) return;
      settled = true;
      clearTimeout(timer);
      let stopping = false;
      const death = (): string | undefined => {
        if (stopping || (child.exitCode === null && child.signalCode === null)) return undefined;
        return `server exited during the run (${child.exitCode ?? child.signalCode})${err ? `; stderr: ${err.slice(-600)}` : ""}`;
      };
      const stop = (): Promise<void> => {
        stopping = true;
        return stopChild(child);
      };
      resolve({ pid: child.pid ?? 0, port: Number(m[1]), impl, death, stop });
    });
    child.on("error", (e: Error) => fail(e.message));
    child.on("exit", (code, sig) => fail(`exited (${code ?? sig}) before announcing its port`));
  });
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command to completion (killed after `timeoutMs`); `onStart` gets its pid. */
export function runToEnd(cmd: readonly string[], p: Placement, timeoutMs: number, onStart?: (pid: number) => void): Promise<Finished> {
  const child = wrap(cmd, p);
  if (child.pid !== undefined) onStart?.(child.pid);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout = (stdout + d.toString()).slice(-64000);
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8000);
  });
  return new Promise<Finished>((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void stopChild(child);
    }, timeoutMs);
    child.on("error", (e: Error) => {
      stderr += e.message;
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** The last line of `stdout` that parses as a JSON object. */
export function lastJson(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.trim().split("\n").reverse();
  for (const line of lines) {
    if (!line.startsWith("{")) continue;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v === "object" && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not JSON, keep looking
    }
  }
  return undefined;
}
