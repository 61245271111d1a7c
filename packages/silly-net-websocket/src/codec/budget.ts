// A memory budget shared by sockets: the bytes they hold, together, in
// messages that have begun to arrive and not ended. A peer that sends all but
// the end of a large message makes its socket hold it; a budget bounds what
// all such peers can make the process hold.

/** @internal Messages held under this many bytes never count against the limit: small messages always pass. */
export const BUDGET_FLOOR = 64 * 1024;

export class Budget {
  /** The bytes held now, by every socket sharing this budget. */
  used = 0;

  /**
   * `limit`: past it, a message over BUDGET_FLOOR that grows further fails
   * its connection with close code 1009.
   */
  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit <= 0) throw new RangeError(`websocket.budget: limit must be a positive integer, got ${String(limit)}`);
  }
}
