// The server side of the runner's contract: print `PORT=<n>` (and optionally
// `IMPL=<name>`) on stdout once listening; exit cleanly on SIGTERM or SIGINT.
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";

export function announce(port: number, impl?: string): void {
  if (impl !== undefined) process.stdout.write(`IMPL=${impl}\n`);
  process.stdout.write(`PORT=${port}\n`);
}

export function exitOnSignal(cleanup: () => void = () => {}): void {
  const stop = (): void => {
    try {
      cleanup();
    } finally {
      process.exit(0);
    }
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

/** True when the module with this `import.meta.url` is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return moduleUrl === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}
