// Waiting (bounded) for the machine to be quiet before a measurement: on a shared
// machine other processes' CPU use shows up as noise in every figure.
import { machineBusySeconds } from "../lib/procstat.js";
import { sleep } from "../lib/stats.js";

/** Busy cores over a short window, or -1 when /proc/stat is unreadable. */
export async function busyCores(windowMs = 500): Promise<number> {
  const b0 = machineBusySeconds();
  const t0 = performance.now();
  await sleep(windowMs);
  const b1 = machineBusySeconds();
  if (b0 < 0 || b1 < 0) return -1;
  return (b1 - b0) / ((performance.now() - t0) / 1000);
}

/**
 * Waits up to `maxMs` until fewer than `threshold` cores are busy. Returns the
 * last busy figure (so the caller can note a measurement started on a busy machine).
 */
export async function waitQuiet(threshold: number, maxMs: number): Promise<number> {
  const deadline = performance.now() + maxMs;
  let busy = await busyCores();
  while (busy > threshold && performance.now() < deadline) {
    await sleep(1000);
    busy = await busyCores();
  }
  return busy;
}
