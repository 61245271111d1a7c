// Module resolve hook of the `silly` command, so that an app runs from any
// folder, even one without node_modules or package.json:
// - a bare import of `silly`, `silly/...` or `silly-*` that the app's own
//   folders cannot resolve is resolved again from the silly package itself,
//   which sits next to the other silly packages;
// - a .ts or .js file with no package.json above it is an ES module (Node.js
//   would take it for CommonJS, where `import` and top-level await fail).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { InitializeHook, ResolveHook, ResolveFnOutput } from "node:module";

let fallback: string | undefined;

export const initialize: InitializeHook<{ parent: string }> = (data) => {
  fallback = data.parent;
};

const SILLY = /^silly(?:-[a-z0-9-]+)?(?:\/|$)/;

const nopackage = new Map<string, boolean>();

/** No package.json in the file's folder or above it (cached per folder). */
function outsidepackage(file: string): boolean {
  const dir = dirname(file);
  let r = nopackage.get(dir);
  if (r === undefined) {
    r = !existsSync(join(dir, "package.json")) && (dirname(dir) === dir || outsidepackage(dir));
    nopackage.set(dir, r);
  }
  return r;
}

function asmodule(r: ResolveFnOutput): ResolveFnOutput {
  if (!r.url.startsWith("file:") || r.format === "module" || !/\.(?:tsx?|js)$/.test(r.url)) return r;
  if (!outsidepackage(fileURLToPath(r.url))) return r;
  // "module-typescript" (Node.js 22.6+) is the format tsx transforms as an ES module.
  const format = (r.url.endsWith(".js") ? "module" : "module-typescript") as ResolveFnOutput["format"];
  return { ...r, format };
}

export const resolve: ResolveHook = async (specifier, context, next) => {
  try {
    return asmodule(await next(specifier, context));
  } catch (err) {
    const retry = fallback !== undefined && SILLY.test(specifier) && context.parentURL !== fallback &&
      (err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND";
    if (!retry) throw err;
    return next(specifier, { ...context, parentURL: fallback });
  }
};
