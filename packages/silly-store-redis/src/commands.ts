// The commands a client has as methods: db.get(key) is db.call("GET", key).
// Any other command goes through db.call. Left out on purpose: the
// subscribe family (db.subscribe / db.psubscribe own a connection of their
// own), MONITOR, and SELECT, AUTH, HELLO, QUIT (give db, auth and resp to
// redis.new: a reconnection redoes them, a command sent by hand would be lost).
export const COMMANDS = [
  // strings
  "append", "decr", "decrby", "get", "getdel", "getex", "getrange", "getset", "incr", "incrby",
  "incrbyfloat", "lcs", "mget", "mset", "msetnx", "psetex", "set", "setex", "setnx", "setrange",
  "strlen", "substr",
  // keys
  "copy", "del", "dump", "exists", "expire", "expireat", "expiretime", "keys", "move", "object",
  "persist", "pexpire", "pexpireat", "pexpiretime", "pttl", "randomkey", "rename", "renamenx",
  "restore", "scan", "sort", "sort_ro", "touch", "ttl", "type", "unlink", "wait",
  // hashes
  "hdel", "hexists", "hget", "hgetall", "hincrby", "hincrbyfloat", "hkeys", "hlen", "hmget",
  "hmset", "hrandfield", "hscan", "hset", "hsetnx", "hstrlen", "hvals",
  // lists
  "blmove", "blmpop", "blpop", "brpop", "brpoplpush", "lindex", "linsert", "llen", "lmove",
  "lmpop", "lpop", "lpos", "lpush", "lpushx", "lrange", "lrem", "lset", "ltrim", "rpop",
  "rpoplpush", "rpush", "rpushx",
  // sets
  "sadd", "scard", "sdiff", "sdiffstore", "sinter", "sintercard", "sinterstore", "sismember",
  "smembers", "smismember", "smove", "spop", "srandmember", "srem", "sscan", "sunion",
  "sunionstore",
  // sorted sets
  "bzmpop", "bzpopmax", "bzpopmin", "zadd", "zcard", "zcount", "zdiff", "zdiffstore", "zincrby",
  "zinter", "zintercard", "zinterstore", "zlexcount", "zmpop", "zmscore", "zpopmax", "zpopmin",
  "zrandmember", "zrange", "zrangebylex", "zrangebyscore", "zrangestore", "zrank", "zrem",
  "zremrangebylex", "zremrangebyrank", "zremrangebyscore", "zrevrange", "zrevrangebylex",
  "zrevrangebyscore", "zrevrank", "zscan", "zscore", "zunion", "zunionstore",
  // streams
  "xack", "xadd", "xautoclaim", "xclaim", "xdel", "xgroup", "xinfo", "xlen", "xpending",
  "xrange", "xread", "xreadgroup", "xrevrange", "xtrim",
  // bitmaps, hyperloglogs, geo
  "bitcount", "bitfield", "bitop", "bitpos", "getbit", "setbit", "pfadd", "pfcount", "pfmerge",
  "geoadd", "geodist", "geohash", "geopos", "geosearch", "geosearchstore",
  // scripting, transactions, pub/sub publishing
  "eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro", "function", "script",
  "discard", "exec", "multi", "unwatch", "watch", "publish", "pubsub", "spublish",
  // server and connection
  "client", "config", "dbsize", "echo", "flushall", "flushdb", "info", "lastsave", "memory",
  "ping", "role", "time",
] as const;

export type CommandName = (typeof COMMANDS)[number];

/** Names call() refuses (upper case): see the comment above. */
export const REFUSED = new Set([
  "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE",
  "MONITOR", "SELECT", "HELLO", "QUIT", "RESET",
]);
