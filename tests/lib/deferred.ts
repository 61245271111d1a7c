// A promise with its resolve function, for tests that hand a value from a
// server task to the test body.
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
