// silly-net-websocket: RFC 6455 server upgrade and client, in silly style.
import { upgrade } from "./server.js";
import { connect } from "./client.js";

export { upgrade, connect };
export { Socket, DEFAULTS } from "./socket.js";
export type { ReadResult, WriteResult, WriteType, MessageType, SocketOptions } from "./socket.js";
export type { UpgradeOptions, UpgradeResult } from "./server.js";
export type { ConnectOptions, ConnectResult } from "./client.js";

const websocket = { upgrade, connect };
export default websocket;
