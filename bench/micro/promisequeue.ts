// The baseline for silly-sync-channel: the plain promise queue one would write by
// hand (an array of values plus a list of waiting resolvers), same result shapes.

export class PromiseQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: ((r: [T, undefined]) => void)[] = [];

  send(v: T): void {
    const w = this.waiters.shift();
    if (w !== undefined) w([v, undefined]);
    else this.items.push(v);
  }

  recv(): Promise<[T, undefined]> {
    if (this.items.length > 0) return Promise.resolve([this.items.shift() as T, undefined]);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}
