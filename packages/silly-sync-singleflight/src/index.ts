// silly.sync.singleflight: one call of fn(key) at a time per key, its result
// shared by every caller that asked while it ran. Nothing is remembered after
// the call ends: the next call(key) runs fn again.

export class Group<K, R> {
  private readonly flights = new Map<K, Promise<R>>();

  /** @internal */
  constructor(private readonly fn: (key: K) => R | PromiseLike<R>) {}

  /**
   * Run fn(key), or join the run already in flight for `key`. Every caller of
   * one flight gets the same result; if fn throws, every caller's promise
   * rejects with that same error.
   */
  call(key: K): Promise<R> {
    let flight = this.flights.get(key);
    if (flight === undefined) {
      // fn starts on the next microtask, after the flight is registered, so
      // even a synchronous throw ends the flight and is shared.
      flight = Promise.resolve(key)
        .then(this.fn)
        .finally(() => this.flights.delete(key));
      this.flights.set(key, flight);
    }
    return flight;
  }

  /** How many keys have a call in flight. */
  get size(): number {
    return this.flights.size;
  }
}

/** A group whose call(key) runs `fn(key)` once per key at a time. */
export function create<K, R>(fn: (key: K) => R | PromiseLike<R>): Group<K, Awaited<R>> {
  if (typeof fn !== "function") throw new TypeError("singleflight.new: fn must be a function");
  return new Group<K, Awaited<R>>(fn as (key: K) => Awaited<R> | PromiseLike<Awaited<R>>);
}

const singleflight = { new: create, create, Group };
export { create as new };
export default singleflight;
