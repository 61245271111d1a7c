// Run fn as a silly task and resolve with what it returns (reject with what it throws).
import task from "silly/task";

export function intask<T>(fn: () => T | Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    task.fork(async () => {
      try {
        resolve(await fn());
      } catch (err) {
        reject(err);
      }
    });
  });
}
