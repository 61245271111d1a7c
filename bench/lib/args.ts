// Tiny command-line parser: `--key value`, `--key=value`, `-k value` and bare `--flag`.
// Values are looked up by any of their spellings; unknown keys are an error so a typo
// never silently falls back to a default.

export class Args {
  private readonly values = new Map<string, string>();
  private readonly seen = new Set<string>();

  constructor(argv: readonly string[], private readonly flags: ReadonlySet<string> = new Set()) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (!a.startsWith("-")) throw new Error(`unexpected argument: ${a}`);
      const eq = a.indexOf("=");
      if (eq > 0) {
        this.values.set(a.slice(0, eq), a.slice(eq + 1));
      } else if (this.flags.has(a)) {
        this.values.set(a, "true");
      } else {
        const v = argv[i + 1];
        if (v === undefined) throw new Error(`missing value for ${a}`);
        this.values.set(a, v);
        i++;
      }
    }
  }

  private raw(names: readonly string[]): string | undefined {
    for (const n of names) {
      this.seen.add(n);
      const v = this.values.get(n);
      if (v !== undefined) return v;
    }
    return undefined;
  }

  str(names: readonly string[], def: string): string {
    return this.raw(names) ?? def;
  }

  num(names: readonly string[], def: number): number {
    const v = this.raw(names);
    if (v === undefined) return def;
    const n = parseSize(v);
    if (!Number.isFinite(n)) throw new Error(`${names[0]}: not a number: ${v}`);
    return n;
  }

  flag(name: string): boolean {
    return this.raw([name]) === "true";
  }

  /** Throws if any given key was never asked for (call after reading every option). */
  done(): void {
    for (const k of this.values.keys()) {
      if (!this.seen.has(k)) throw new Error(`unknown option: ${k}`);
    }
  }
}

/** "32", "16k", "1m" (binary multiples), "0.5". */
export function parseSize(v: string): number {
  const m = /^([0-9]*\.?[0-9]+)([kKmM]?)$/.exec(v);
  if (m === null) return Number.NaN;
  const base = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  return unit === "k" ? base * 1024 : unit === "m" ? base * 1024 * 1024 : base;
}
