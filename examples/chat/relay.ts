// The Redis backplane: chat processes that share a Redis share the room.
//
// Each process publishes its own users' events on one pub/sub channel, and
// hands the other processes' events to its room; its own come back from Redis
// too and are skipped (its users got them at once). Presence: every process
// publishes its roster every `heartbeat` ms, valid for three heartbeats, and
// expires the rosters it stops hearing about, so a process that dies leaves
// no ghosts. A process that starts says hello, and the others answer with
// their rosters at once; one that stops says bye.
//
// During a Redis outage each process keeps serving its own users; what its
// users say reaches only them, and the other processes' users leave its list
// once their rosters expire. When Redis is back, the client reconnects and
// subscribes again by itself, and the next heartbeats fill the lists again
// (README.md, "Running on several processes").
import { randomBytes } from "node:crypto";
import redis from "silly-store-redis";
import type { Client } from "silly-store-redis";
import task from "silly/task";
import time from "silly/time";
import logger from "silly/logger";
import { decodeenvelope, encodeenvelope, encoderoster } from "./protocol.js";
import type { Kind } from "./protocol.js";
import type { Relay, Room } from "./room.js";
import type { ChatMetrics } from "./metrics.js";

/** The pub/sub channel of the room. */
export const CHANNEL = "silly-chat:lobby";
/** The counter that numbers guests across processes. */
export const GUESTS = "silly-chat:guests";
/** How long stopping waits for the bye to go out, in ms. */
const BYE_MS = 1000;

export class RedisRelay implements Relay {
  /** This process, as its envelopes name it. */
  readonly origin = randomBytes(6).toString("base64url");
  readonly ttl: number;
  private readonly db: Client;
  private stopped = false;
  private failing = false;
  private readonly ticker: NodeJS.Timeout;

  constructor(
    url: string,
    private readonly room: Room,
    private readonly metrics: ChatMetrics,
    heartbeat: number,
  ) {
    this.ttl = 3 * heartbeat;
    this.db = redis.new({ addr: url, name: `silly-chat-${this.origin}`, timeout: 5000 });
    room.relay = this;
    task.fork(() => this.listen());
    this.ticker = setInterval(() => {
      this.announce();
      room.expire(Date.now());
    }, heartbeat);
  }

  async publish(kind: Kind, payload = ""): Promise<boolean> {
    if (this.stopped) return false;
    const [, err] = await this.db.publish(CHANNEL, encodeenvelope(this.origin, kind, payload));
    if (err === undefined) {
      this.metrics.relayed.inc();
      if (this.failing) {
        this.failing = false;
        logger.info("chat: publishing to Redis again");
      }
      return true;
    }
    this.metrics.relayfailed.inc();
    if (!this.failing && !this.stopped) {
      this.failing = true; // said once per outage, not once per message
      logger.warn("chat: cannot publish to Redis: %s", err);
    }
    return false;
  }

  /** The next guest number of the whole room, or undefined while Redis is out of reach. */
  async guestnumber(): Promise<number | undefined> {
    const [n] = await this.db.incr(GUESTS);
    return typeof n === "number" ? n : undefined;
  }

  announce(): void {
    void this.publish("r", encoderoster(this.ttl, this.room.roster()));
  }

  /** Read the channel until stopped; subscribe again after a failed subscription. */
  private async listen(): Promise<void> {
    let backoff = 100;
    while (!this.stopped) {
      const [sub, err] = await this.db.subscribe(CHANNEL);
      if (sub === undefined) {
        if (this.stopped) return;
        logger.warn("chat: cannot subscribe to Redis (%s): trying again in %d ms", err, backoff);
        await time.sleep(backoff);
        backoff = Math.min(backoff * 2, 2000);
        continue;
      }
      backoff = 100;
      logger.info("chat: sharing the room through Redis as %s", this.origin);
      void this.publish("h");
      this.announce();
      for (;;) {
        const [msg, rerr] = await sub.read();
        if (msg === undefined) {
          if (!this.stopped) logger.warn("chat: the Redis subscription ended (%s): subscribing again", rerr);
          break;
        }
        const env = decodeenvelope(msg.data);
        if (env === undefined || env.origin === this.origin) continue;
        this.metrics.relayin.inc();
        this.room.remote(env, Date.now());
      }
    }
  }

  /** Say bye (the others drop our users at once; a second at most) and close the Redis client. */
  async stop(): Promise<void> {
    clearInterval(this.ticker);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.publish("b"), new Promise((r) => (timer = setTimeout(r, BYE_MS)))]);
    clearTimeout(timer);
    this.stopped = true;
    this.db.close();
  }
}
