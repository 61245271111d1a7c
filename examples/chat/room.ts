// The room: the clients of this process, what they say, who is online.
//
// Everything a client should see goes through one channel to one broadcast
// task, which writes it to every client and never awaits a single one. Events
// of this process's own users are also handed to the relay (Redis, when the
// chat runs on several processes), and the relay hands the other processes'
// events in through remote().
//
// A client that does not keep up is dropped, but only for what the kernel
// has not taken: after a turn's writes, each client's output is flushed and
// what is left unsent is its backlog. Bytes merely queued within the turn do
// not count, so a burst to a client that reads fast is never held against it.
import type { Socket } from "silly-net-websocket";
import channel from "silly-sync-channel";
import task from "silly/task";
import logger from "silly/logger";
import protocol from "silly/net/protocol";
import { MAX_TEXT, decoderoster, decodeuser, encode } from "./protocol.js";
import type { Entry, Envelope, Event, Kind } from "./protocol.js";
import { Rosters, online } from "./presence.js";
import type { ChatMetrics } from "./metrics.js";

/** The other processes, as the room sees them (see relay.ts). */
export interface Relay {
  /** Hand an event of ours to the other processes; resolves false when it did not go out. */
  publish(kind: Kind, payload: string): Promise<boolean>;
  /** Tell the others who is here now. */
  announce(): void;
  /** How long a roster of another process stays valid without news, in ms. */
  readonly ttl: number;
}

export interface Client {
  name: string;
  readonly sock: Socket;
  /** Speaks the JSON commands of the v2 subprotocol (and gets welcome and error events). */
  readonly v2: boolean;
  /** When it joined (or last changed its name): its place in the online list. */
  at: number;
}

interface Outgoing {
  /** The event's JSON text. */
  data: string;
  /** For a message: its sender, who gets a copy marked "self". */
  sender?: Client;
}

/** The most presence events a room sends per this many ms: a crowd joining at once costs a few, not one per join. */
export const PRESENCE_MS = 200;

export class Room {
  readonly clients = new Set<Client>();
  relay: Relay | undefined = undefined;
  private readonly out = channel.new<Outgoing>();
  private readonly others = new Rosters();
  private sweeping = false;
  private presencetimer: NodeJS.Timeout | undefined = undefined;
  private presencedirty = false;

  constructor(
    private readonly metrics: ChatMetrics,
    /** A client is dropped once this many bytes wait unsent after a flush. */
    private readonly maxbacklog: number,
  ) {
    task.fork(() => this.broadcast());
  }

  // ---- this process's clients ----

  enter(sock: Socket, name: string, v2: boolean): Client {
    const c: Client = { name, sock, v2, at: Date.now() };
    this.clients.add(c);
    this.tell(c, { type: "welcome", name, maxlength: MAX_TEXT });
    this.emit("j", { type: "join", name, at: c.at });
    this.presencechanged();
    return c;
  }

  say(c: Client, text: string): void {
    const data = encode({ type: "message", name: c.name, text, at: Date.now() });
    this.out.send({ data, sender: c });
    void this.relay?.publish("m", data).then((ok) => {
      if (!ok) this.tell(c, { type: "error", text: "the other chat servers are out of reach: only this server's users got your message" });
    });
  }

  rename(c: Client, name: string): void {
    if (name === c.name) return;
    const old = c.name;
    const at = Date.now();
    c.name = name;
    c.at = at;
    this.tell(c, { type: "welcome", name, maxlength: MAX_TEXT });
    this.emit("l", { type: "leave", name: old, to: name, at });
    this.emit("j", { type: "join", name, from: old, at });
    this.presencechanged();
  }

  /** `c` is gone (it left, or was dropped): false when it was gone already. */
  leave(c: Client): boolean {
    if (!this.clients.delete(c)) return false;
    this.emit("l", { type: "leave", name: c.name, at: Date.now() });
    this.presencechanged();
    return true;
  }

  /** Close `c` with 1008 and tell the room it left. */
  drop(c: Client, why: string): void {
    if (!this.leave(c)) return;
    logger.warn("chat: dropping %s (%s): %s", c.name, c.sock.conn.remoteaddr, why);
    this.metrics.dropped.inc();
    void c.sock.close(1008, why);
  }

  /** An event for `c` alone; plain clients get only the room's events. */
  tell(c: Client, e: Event): void {
    if (c.v2) void c.sock.write(encode(e), "text");
  }

  /** This process's users, for a roster. */
  roster(): Entry[] {
    return [...this.clients].map((c) => [c.name, c.at]);
  }

  /** Close every socket with 1001 (going away); the room takes no more events. */
  async close(): Promise<void> {
    clearTimeout(this.presencetimer);
    const closing = [...this.clients].map((c) => c.sock.close(1001, "server shutting down"));
    this.clients.clear();
    this.out.close("room closed");
    await Promise.all(closing);
  }

  private emit(kind: Kind, e: Event): void {
    const data = encode(e);
    this.out.send({ data });
    void this.relay?.publish(kind, data);
  }

  // ---- the other processes ----

  /** An envelope another process published. */
  remote(env: Envelope, now: number): void {
    const relay = this.relay;
    if (relay === undefined) return;
    switch (env.kind) {
      case "m":
        this.out.send({ data: env.payload });
        return;
      case "j":
      case "l": {
        const user = decodeuser(env.payload);
        if (user === undefined) return;
        if (env.kind === "j") this.others.add(env.origin, user, relay.ttl, now);
        else this.others.remove(env.origin, user[0]);
        this.out.send({ data: env.payload });
        this.presencechanged();
        return;
      }
      case "r": {
        const r = decoderoster(env.payload);
        if (r !== undefined && this.others.set(env.origin, r.users, r.ttl, now)) this.presencechanged();
        return;
      }
      case "h":
        relay.announce();
        return;
      case "b":
        this.gone(this.others.drop(env.origin));
        return;
    }
  }

  /** Forget the other processes not heard of within their TTL. */
  expire(now: number): void {
    this.gone(this.others.expire(now));
  }

  /** Users of another process that stopped or went silent: they left. */
  private gone(users: Entry[]): void {
    if (users.length === 0) return;
    const at = Date.now();
    for (const [name] of users) this.out.send({ data: encode({ type: "leave", name, at }) });
    this.presencechanged();
  }

  // ---- presence ----

  /** Send the online list now, or once PRESENCE_MS have passed since the last one. */
  private presencechanged(): void {
    if (this.out.isclosed) return;
    if (this.presencetimer !== undefined) {
      this.presencedirty = true;
      return;
    }
    this.out.send({ data: encode({ type: "presence", online: online(this.roster(), this.others.users()) }) });
    this.presencetimer = setTimeout(() => {
      this.presencetimer = undefined;
      if (this.presencedirty) {
        this.presencedirty = false;
        this.presencechanged();
      }
    }, PRESENCE_MS);
  }

  // ---- fan-out ----

  private async broadcast(): Promise<void> {
    for (;;) {
      const [item, err] = await this.out.recv();
      if (item === undefined) {
        logger.debug("chat: broadcast ends: %s", err);
        return;
      }
      const { data, sender } = item;
      // The sender's own copy of a message, marked as such.
      const own = sender !== undefined && this.clients.has(sender) ? `${data.slice(0, -1)},"self":true}` : undefined;
      const size = Buffer.byteLength(data);
      for (const c of this.clients) void c.sock.write(c === sender ? own : data, "text");
      this.metrics.messagesout.add(this.clients.size);
      this.metrics.bytesout.add(size * this.clients.size);
      if (!this.sweeping) {
        this.sweeping = true;
        setImmediate(this.sweep);
      }
    }
  }

  /** After the turn's writes: flush each client, and drop those whose socket still holds too much. */
  private readonly sweep = (): void => {
    this.sweeping = false;
    for (const c of this.clients) {
      const conn = c.sock.conn;
      protocol.flush(conn);
      if (conn.unsentbytes() > this.maxbacklog) this.drop(c, "too slow");
    }
  };
}
