// silly-store-redis: upstream silly's silly.store.redis, a Redis client in silly style.
import { Client, create, DEFAULTS } from "./client.js";

export { Client, create, DEFAULTS };
export { create as new };
export { RedisError } from "./error.js";
export { COMMANDS } from "./commands.js";
export type { ErrorKind } from "./error.js";
export { Subscription, Message } from "./pubsub.js";
export type { SubscribeResult, MessageResult } from "./pubsub.js";
export type { Options, TlsOptions, Result, PipelineResult, Command } from "./client.js";
export type { Arg, Args, Reply } from "./resp.js";

const redis = { new: create, create, Client };
export default redis;
