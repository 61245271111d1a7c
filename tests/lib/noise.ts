// Bytes that do not compress, from a seeded xorshift32; the seed is printed so
// that a failing run can be repeated.
export function noise(n: number, seed: number): Buffer {
  console.log(`noise seed ${seed}`);
  let x = seed;
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 255;
  }
  return b;
}
