// Debian's Chromium, driven by playwright-core, for the suites that test the
// chat's page. Without it, such a suite fails with one test that says how to
// install it (never skipped).
import { existsSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chromium } from "playwright-core";
import type { Browser } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** True when Chromium is there; otherwise registers the failing test that says so. */
export function havechromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  test("Chromium is installed", () => {
    assert.unreachable(`no Chromium at ${CHROMIUM}: \`bash scripts/peers.sh\` installs Debian's (or set CHROMIUM_PATH)`);
  });
  return false;
}

/** A headless Chromium that keeps to loopback. */
export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability", "--no-pings",
      "--disable-features=AutofillServerCommunication,OptimizationHints,Translate,MediaRouter",
      // Chromium's own lookups (update, autofill, account services) never leave the machine
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
    ],
  });
}
