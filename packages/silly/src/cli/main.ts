// The `silly` command: `silly main.ts --port=8080` runs an app the way
// upstream's `./silly main.lua --port=8080` does. The app runs in this very
// process, so a signal sent to the command (Ctrl-C, kill) reaches the app
// itself: there is no child to forward it to or to leave behind.
import { existsSync } from "node:fs";
import { createRequire, register } from "node:module";
import { dirname, join, resolve as resolvepath } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import logger from "../logger.js";
import type { Level } from "../logger.js";
import { version } from "../index.js";
import { parseargs } from "../env.js";
import "../signal.js"; // upstream's default: SIGINT leaves through silly.exit(0)
import { scaffold } from "./new.js";

const USAGE = `usage: silly [--loglevel=LEVEL] ENTRY [--key=value ...]
       silly new DIR
       silly --help | --version

Runs ENTRY (a .ts or .js file) with the silly packages resolvable from any
folder. Every --key=value after ENTRY is configuration in silly/env (values
are strings). --loglevel=debug|info|warn|error sets the logger's level.
TypeScript entries run through tsx, found next to ENTRY or in the workspace.
"silly new DIR" copies the app template into DIR and links its node_modules
to these packages.
`;

const LEVELS: Record<string, Level> = { debug: logger.DEBUG, info: logger.INFO, warn: logger.WARN, error: logger.ERROR };

function fail(msg: string): never {
  process.stderr.write(`silly: ${msg}\n${USAGE}`);
  process.exit(2);
}

const args = process.argv.slice(2);
let i = 0;
let level: string | undefined;
for (; i < args.length && args[i]!.startsWith("-"); i++) {
  const a = args[i]!;
  if (a === "--help" || a === "-h") {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (a === "--version" || a === "-v") {
    process.stdout.write(`silly ${version} (Node.js ${process.version})\n`);
    process.exit(0);
  }
  const m = /^--loglevel=(.*)$/.exec(a);
  if (m === null) fail(`unknown option ${a}`);
  level = m[1];
}
const entry = args[i];
if (entry === undefined) fail("no ENTRY file given");

if (entry === "new") {
  const dir = args[i + 1];
  if (dir === undefined) fail("silly new: no DIR given");
  const [lines, err] = scaffold(resolvepath(dir));
  if (lines === undefined) fail(err);
  process.stdout.write(lines.join("\n") + "\n");
  process.exit(0);
}

let rest = args.slice(i + 1);
if (rest[0] === "--") rest = rest.slice(1); // `pnpm start -- --port=1` passes the "--" on
level = parseargs(rest).get("loglevel") ?? level;
if (level !== undefined) {
  const l = LEVELS[level.toLowerCase()];
  if (l === undefined) fail(`--loglevel must be debug, info, warn or error, not ${JSON.stringify(level)}`);
  logger.setlevel(l);
}

const path = resolvepath(entry);
if (!existsSync(path)) fail(`cannot find ${entry}`);

const here = fileURLToPath(import.meta.url);

/** tsx's loader (what `node --import tsx` loads), next to the app, in the current folder, or next to silly. */
function findtsx(): string | undefined {
  for (const dir of [dirname(path), process.cwd(), dirname(here)]) {
    try {
      return createRequire(join(dir, "noop.js")).resolve("tsx");
    } catch {
      // not there: try the next folder
    }
  }
  return undefined;
}

if (/\.[cm]?tsx?$/.test(path)) {
  const tsx = findtsx();
  if (tsx !== undefined) await import(pathToFileURL(tsx).href);
  else if (!Reflect.get(process.features, "typescript")) { // Node.js 22.6+ can strip types itself
    fail(
      `${entry} is TypeScript, which Node.js ${process.version} cannot run by itself, and tsx is not installed ` +
        `next to it: add tsx to the app (npm install --save-dev tsx), or run the compiled .js file`,
    );
  }
}
register(new URL("./hooks.js", import.meta.url), { data: { parent: import.meta.url } });

process.argv = [process.argv[0]!, path, ...rest];
await import(pathToFileURL(path).href);
