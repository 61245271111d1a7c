// A test body with a time bound: a test that would wait for ever fails with a
// message instead, and the suite goes on.
export function bounded(ms: number, body: () => Promise<void>): () => Promise<void> {
  return async () => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the test did not finish within ${ms} ms`)), ms);
    });
    try {
      await Promise.race([body(), late]);
    } finally {
      clearTimeout(timer);
    }
  };
}
