// Reading another process's memory and CPU time from /proc (Linux only; -1 when unreadable).
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";

/** A field of /proc/PID/status in kB (VmRSS, VmHWM), or -1. */
export function statusKb(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "latin1");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m === null ? -1 : Number(m[1]);
  } catch {
    return -1;
  }
}

let ticks = 0;
function clockTicks(): number {
  if (ticks === 0) {
    try {
      ticks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "latin1", timeout: 2000 }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** User + system CPU seconds used so far by process `pid`, or -1. */
export function cpuSeconds(pid: number): number {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1");
    // Fields after the ")" that closes the command name; utime and stime are fields 14 and 15.
    const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    return (utime + stime) / clockTicks();
  } catch {
    return -1;
  }
}

/** Busy CPU seconds of the whole machine so far (all cores, /proc/stat), or -1. */
export function machineBusySeconds(): number {
  try {
    const first = readFileSync("/proc/stat", "latin1").split("\n", 1)[0]!;
    const f = first.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = f[0]! + f[1]! + f[2]! + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0);
    return busy / clockTicks();
  } catch {
    return -1;
  }
}

/** CPU shares (cores) over one measured window; -1 where unreadable. */
export interface Window {
  secs: number;
  /** This process (the load generator). */
  cpu: number;
  /** The server under test (pid), or -1 without one. */
  serverCpu: number;
  /** Everything else on the machine. */
  otherCpu: number;
}

/**
 * Measure `secs` seconds: calls `begin()` as the window opens and `end()` as
 * it closes (so the caller counts exactly the window's messages), and
 * returns the CPU shares seen.
 */
export async function measureWindow(secs: number, pid: number, begin: () => void, end: () => void): Promise<Window> {
  const c0 = process.cpuUsage();
  const s0 = pid > 0 ? cpuSeconds(pid) : -1;
  const m0 = machineBusySeconds();
  const t0 = performance.now();
  begin();
  await new Promise((r) => setTimeout(r, secs * 1000));
  end();
  const t1 = performance.now();
  const c1 = process.cpuUsage(c0);
  const s1 = pid > 0 ? cpuSeconds(pid) : -1;
  const m1 = machineBusySeconds();
  const w = (t1 - t0) / 1000;
  const cpu = (c1.user + c1.system) / 1e6 / w;
  const serverCpu = s0 >= 0 && s1 >= 0 ? (s1 - s0) / w : -1;
  const otherCpu = serverCpu >= 0 && m0 >= 0 && m1 >= 0 ? Math.max(0, (m1 - m0) / w - serverCpu - cpu) : -1;
  return { secs: w, cpu, serverCpu, otherCpu };
}
