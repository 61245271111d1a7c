#!/usr/bin/env node
// The `silly` command. Its code is TypeScript built to dist/ (pnpm build).
import("../dist/cli/main.js").catch((err) => {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes("dist/cli/main.js")) {
    console.error("silly: the silly package is not built yet (run `pnpm build` in the workspace)");
    process.exit(2);
  }
  throw err;
});
