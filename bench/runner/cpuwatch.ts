// Polls CPU time of a few processes and of the whole machine while something runs,
// so that every generator is judged by the same clock: CPU shares of the server and
// the generator, and what all other processes used meanwhile (a noise indicator).
import { cpuSeconds, machineBusySeconds } from "../lib/procstat.js";

export interface CpuShares {
  wall: number;
  server: number;
  generator: number;
  other: number;
}

export class CpuWatch {
  private readonly timer: NodeJS.Timeout;
  private first: number[] | undefined;
  private last: number[] | undefined;
  private t0 = 0;
  private t1 = 0;
  private gen = 0;
  private genStart = 0;

  /** Samples start `skipMs` after the generator's pid is known (its start-up and warm-up). */
  constructor(
    private readonly server: number,
    private readonly skipMs = 0,
    periodMs = 100,
  ) {
    this.timer = setInterval(() => this.sample(), periodMs);
  }

  /** The generator's pid, once known. */
  generator(pid: number): void {
    this.gen = pid;
    this.genStart = performance.now();
  }

  private sample(): void {
    if (this.gen === 0 || performance.now() - this.genStart < this.skipMs) return;
    const g = cpuSeconds(this.gen);
    const s = cpuSeconds(this.server);
    const m = machineBusySeconds();
    if (g < 0 || s < 0 || m < 0) return; // the generator has exited: keep the last sample
    const now = performance.now();
    if (this.first === undefined) {
      this.first = [g, s, m];
      this.t0 = now;
    }
    this.last = [g, s, m];
    this.t1 = now;
  }

  stop(): CpuShares | undefined {
    clearInterval(this.timer);
    const a = this.first;
    const b = this.last;
    const wall = (this.t1 - this.t0) / 1000;
    if (a === undefined || b === undefined || wall <= 0) return undefined;
    const generator = (b[0]! - a[0]!) / wall;
    const server = (b[1]! - a[1]!) / wall;
    const other = Math.max(0, (b[2]! - a[2]!) / wall - generator - server);
    return { wall, server, generator, other };
  }
}
