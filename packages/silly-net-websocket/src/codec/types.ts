// The message types of RFC 6455 as this package names them (a module of its
// own, so that the public declarations reach no codec internals).
export type MessageType = "text" | "binary" | "ping" | "pong" | "close";
