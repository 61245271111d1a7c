// A child process running a TypeScript program the way the tests run (tsx,
// workspace sources), with helpers to wait for its output and its exit.
import { spawn } from "node:child_process";
import type { ChildProcess, SpawnOptions } from "node:child_process";
import { createServer } from "node:net";

export interface Child {
  proc: ChildProcess;
  /** Everything the child printed so far (stdout and stderr). */
  output(): string;
  /** Resolve with the first match of `re` in the output; reject after `ms`. */
  waitfor(re: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** Resolve with the exit code and signal; reject after `ms`. */
  exited(ms?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawn `cmd args`; by default node with this process's flags on an ESM program given as text. */
export function start(cmd: string, args: string[], opts: SpawnOptions = {}): Child {
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
  let out = "";
  const listeners = new Set<() => void>();
  const ondata = (d: Buffer): void => {
    out += d.toString();
    for (const l of listeners) l();
  };
  proc.stdout?.on("data", ondata);
  proc.stderr?.on("data", ondata);
  let gone = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.on("exit", (code, signal) => {
      gone = true;
      for (const l of listeners) l();
      resolve({ code, signal });
    });
  });
  const bounded = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}; output:\n${out}`)), ms);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  return {
    proc,
    output: () => out,
    waitfor(re, ms = 20_000) {
      return bounded(
        new Promise<RegExpMatchArray>((resolve, reject) => {
          const check = (): void => {
            const m = out.match(re);
            if (m !== null || gone) listeners.delete(check);
            if (m !== null) resolve(m);
            else if (gone) reject(new Error(`the child exited before printing ${String(re)}; output:\n${out}`));
          };
          listeners.add(check);
          check();
        }),
        ms,
        String(re),
      );
    },
    exited(ms = 20_000) {
      return bounded(exit, ms, "the child to exit");
    },
  };
}

/** Run an ESM TypeScript program (as text) in a child node with this process's loader flags. */
export function program(text: string, args: string[] = [], opts: SpawnOptions = {}): Child {
  return start(process.execPath, [...process.execArgv, "--input-type=module", "-e", text, "--", ...args], opts);
}

/** Resolves true when nothing listens on 127.0.0.1:port any more (a listen on it succeeds). */
export function portfree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
