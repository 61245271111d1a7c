import { test } from "uvu";
import * as assert from "uvu/assert";
import logger from "silly/logger";
import { spawnSync } from "node:child_process";

function capture(fn: () => void): string[] {
  const lines: string[] = [];
  const prev = logger.setsink((l) => lines.push(l));
  try {
    fn();
  } finally {
    logger.setsink(prev);
  }
  return lines;
}

test("levels filter and lines carry timestamp and tag", () => {
  logger.setlevel(logger.INFO);
  const lines = capture(() => {
    logger.debug("hidden");
    logger.info("x %s", "v", 2, { a: 1 });
    logger.warn("w");
    logger.error("e %d", 7);
  });
  assert.is(lines.length, 3);
  assert.match(lines[0]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} I x v 2 \{ a: 1 \}\n$/);
  assert.match(lines[1]!, / W w\n$/);
  assert.match(lines[2]!, / E e 7\n$/);
  logger.setlevel(logger.DEBUG);
  assert.is(capture(() => logger.debug("shown")).length, 1);
  assert.is(logger.getlevel(), logger.DEBUG);
  logger.setlevel(logger.INFO);
});

test("*f forms accept only %s and %%", () => {
  const lines = capture(() => logger.infof("user %s has %s%%, %s", "ann", 42, { k: "v" }));
  assert.match(lines[0]!, /I user ann has 42%, \{ k: 'v' \}\n$/);
  assert.throws(() => logger.infof("id=%d", 1), /only '%s' is supported/);
  assert.throws(() => logger.setlevel(9 as never), /DEBUG\(0\)\.\.ERROR\(3\)/);
});

test("SILLY_LOGLEVEL sets the starting level", () => {
  const code = `import logger from "silly/logger"; logger.info("info-line"); logger.warn("warn-line");`;
  const r = spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", "--input-type=module", "-e", code], {
    env: { ...process.env, SILLY_LOGLEVEL: "warn" },
    encoding: "utf8",
  });
  assert.is(r.status, 0, r.stderr);
  assert.not.match(r.stderr, /info-line/);
  assert.match(r.stderr, /W warn-line/);
});

test.run();
