// Numbers a child process prints on stdout, read in order: line(re) waits for
// the next match of `re` after the previous one and returns its groups as
// numbers; it throws once the child has exited without printing one.
import type { ChildProcessByStdio } from "node:child_process";
import type { Readable, Writable } from "node:stream";

export function childlines(child: ChildProcessByStdio<Writable, Readable, null>, what: string): (re: RegExp) => Promise<number[]> {
  let out = "";
  const waiting: (() => void)[] = [];
  const wake = (): void => {
    for (const w of waiting.splice(0)) w();
  };
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
    wake();
  });
  child.once("exit", wake);
  return async (re: RegExp): Promise<number[]> => {
    for (;;) {
      const m = re.exec(out);
      if (m !== null) {
        out = out.slice(m.index + m[0].length);
        return m.slice(1).map(Number);
      }
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited before printing ${re.source}`);
      await new Promise<void>((r) => waiting.push(r));
    }
  };
}
