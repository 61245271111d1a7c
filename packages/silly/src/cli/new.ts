// `silly new DIR`: copy the app template into DIR (keeping files already
// there), then link DIR/node_modules to the silly packages next to this one,
// and to the TypeScript compiler, tsx and Node's types where they sit, so the
// app runs and type-checks without installing anything.
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const pkgdir = realpathSync(fileURLToPath(new URL("../../", import.meta.url)));
const template = join(pkgdir, "template");
const TOOLS = ["typescript", "tsx", "@types/node"];

/** The node_modules folder that holds the silly packages: the workspace's, or the one silly was installed in. */
function store(): string | undefined {
  for (let d = pkgdir; d !== dirname(d); d = dirname(d)) {
    for (const nm of basename(d) === "node_modules" ? [d] : [join(d, "node_modules")]) {
      if (existsSync(join(nm, "silly"))) return nm;
    }
  }
  return undefined;
}

function link(target: string, at: string): void {
  mkdirSync(dirname(at), { recursive: true });
  let old;
  try {
    old = lstatSync(at);
  } catch {
    old = undefined;
  }
  if (old?.isSymbolicLink()) rmSync(at);
  else if (old !== undefined) return; // a real folder or file: the user's own, keep it
  symlinkSync(target, at);
}

export function scaffold(dir: string): [string[], undefined] | [undefined, string] {
  const nm = store();
  if (nm === undefined) return [undefined, `silly new: cannot find the node_modules folder that holds silly (from ${pkgdir})`];
  cpSync(template, dir, { recursive: true, force: false, errorOnExist: false });
  const names = readdirSync(nm).filter((n) => n === "silly" || n.startsWith("silly-"));
  for (const n of [...names, ...TOOLS]) {
    if (existsSync(join(nm, n))) link(realpathSync(join(nm, n)), join(dir, "node_modules", n));
  }
  const bins: [string, string][] = [["silly", "silly/bin/silly.js"], ["tsc", "typescript/bin/tsc"], ["tsx", "tsx/dist/cli.mjs"]];
  for (const [bin, file] of bins) {
    const target = join(dir, "node_modules", file);
    if (existsSync(target)) link(realpathSync(target), join(dir, "node_modules", ".bin", bin));
  }
  const missing = TOOLS.filter((t) => !existsSync(join(nm, t)));
  return [
    [
      `created ${dir}: ${readdirSync(template).join(", ")}`,
      `linked node_modules to ${[...names, ...TOOLS.filter((t) => !missing.includes(t))].join(", ")} in ${nm}`,
      ...(missing.length > 0 ? [`not found next to silly (install them in the app): ${missing.join(", ")}`] : []),
      "",
      `  cd ${dir}`,
      "  npm start -- --port=8080   # run it",
      "  npm run check              # type-check it",
    ],
    undefined,
  ];
}
