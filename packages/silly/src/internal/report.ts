// One place that turns an unexpected exception into a log line with its stack.
import { error } from "../logger.js";

export function describe(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}

export function logerror(context: string, err: unknown): void {
  error("%s: %s", context, describe(err));
}
