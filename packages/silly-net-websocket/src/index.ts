// silly-net-websocket: RFC 6455 server upgrade and client, in silly style.
import { upgrade } from "./server.js";
import { connect } from "./client.js";
import { budget } from "./socket.js";

export { upgrade, connect, budget };
export { Socket, DEFAULTS } from "./socket.js";
export type { Budget } from "./codec/budget.js";
export type { Compression, CompressionOptions } from "./codec/types.js";
export type { ReadResult, WriteResult, WriteType, MessageType, SocketOptions, HandshakeStream } from "./socket.js";
export type { UpgradeOptions, UpgradeResult } from "./server.js";
export type { ConnectOptions, ConnectResult } from "./client.js";

const websocket = { upgrade, connect, budget };
export default websocket;
