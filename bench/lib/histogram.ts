// Log-linear latency histogram in microseconds: exact below 2048 us, then 1024
// sub-buckets per power of two (about 0.1% resolution). Fixed size, no allocation.

const LINEAR = 2048;
const SUB = 1024;
const MAX_EXP = 22; // up to 2^32 us, about 71 minutes

export class Histogram {
  private readonly buckets = new Float64Array(LINEAR + MAX_EXP * SUB);
  count = 0;

  record(us: number): void {
    this.buckets[indexOf(us)]! += 1;
    this.count++;
  }

  /** Records `n` samples of one value. */
  recordN(us: number, n: number): void {
    this.buckets[indexOf(us)]! += n;
    this.count += n;
  }

  reset(): void {
    this.buckets.fill(0);
    this.count = 0;
  }

  /** The value at quantile q (0..1), or 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const target = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= target) return valueOf(i);
    }
    return valueOf(this.buckets.length - 1);
  }
}

function indexOf(us: number): number {
  const v = us < 0 ? 0 : Math.floor(us);
  if (v < LINEAR) return v;
  const e = Math.min(Math.floor(Math.log2(v)) - 10, MAX_EXP); // v in [1024 * 2^e, 2048 * 2^e)
  const sub = Math.min(Math.floor(v / 2 ** e), 2 * SUB - 1) - SUB;
  return LINEAR + (e - 1) * SUB + sub;
}

function valueOf(i: number): number {
  if (i < LINEAR) return i;
  const e = Math.floor((i - LINEAR) / SUB) + 1;
  const sub = (i - LINEAR) % SUB;
  return (SUB + sub) * 2 ** e;
}
