// Who is online on the other chat processes, without sockets or clocks of
// its own (the caller passes `now`), so that its rules are tested alone.
//
// Every process announces its users (a roster) now and then, with how long
// the roster stays valid; joins and leaves between two rosters update it. A
// process that stops says bye; one that dies stops announcing, and its roster
// expires: its users are gone after the TTL at most, never left for ever.
import type { Entry } from "./protocol.js";

interface Roster {
  users: Entry[];
  expires: number;
}

export class Rosters {
  private readonly byorigin = new Map<string, Roster>();

  /** `origin`'s whole roster, valid for `ttl` ms. Returns true when the users changed. */
  set(origin: string, users: Entry[], ttl: number, now: number): boolean {
    const old = this.byorigin.get(origin);
    this.byorigin.set(origin, { users, expires: now + ttl });
    return old === undefined ? users.length > 0 : !same(old.users, users);
  }

  /** `origin` says `user` joined; an origin not heard of yet gets a roster valid for `ttl` ms. */
  add(origin: string, user: Entry, ttl: number, now: number): void {
    const r = this.byorigin.get(origin);
    if (r === undefined) this.byorigin.set(origin, { users: [user], expires: now + ttl });
    else r.users.push(user);
  }

  /** `origin` says `name` left. Returns true when it was listed. */
  remove(origin: string, name: string): boolean {
    const users = this.byorigin.get(origin)?.users;
    const i = users?.findIndex((u) => u[0] === name) ?? -1;
    if (i < 0) return false;
    users!.splice(i, 1);
    return true;
  }

  /** `origin` is gone: its users, who are no longer listed. */
  drop(origin: string): Entry[] {
    const r = this.byorigin.get(origin);
    this.byorigin.delete(origin);
    return r?.users ?? [];
  }

  /** Drop every roster past its TTL: the users they listed. */
  expire(now: number): Entry[] {
    const gone: Entry[] = [];
    for (const [origin, r] of this.byorigin) {
      if (r.expires > now) continue;
      this.byorigin.delete(origin);
      gone.push(...r.users);
    }
    return gone;
  }

  /** Every listed user, of every origin. */
  users(): Entry[] {
    return [...this.byorigin.values()].flatMap((r) => r.users);
  }

  /** Origins listed now. */
  get size(): number {
    return this.byorigin.size;
  }
}

function same(a: readonly Entry[], b: readonly Entry[]): boolean {
  return a.length === b.length && a.every((u, i) => u[0] === b[i]![0] && u[1] === b[i]![1]);
}

/**
 * The room's names in the order they joined: one process's own users as they
 * came; with others' users, by join time, then name, so that every process
 * lists the same room in the same order.
 */
export function online(local: readonly Entry[], remote: readonly Entry[]): string[] {
  if (remote.length === 0) return local.map((u) => u[0]);
  return [...local, ...remote].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((u) => u[0]);
}
