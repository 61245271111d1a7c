// The sans-I/O RFC 6455 codec: framing, masking, UTF-8, close codes, handshake,
// extension negotiation (RFC 7692 permessage-deflate).
export {
  FrameParser,
  encodeframe,
  encodemessage,
  encodeinto,
  stagedsize,
  opcodeof,
  typeopcode,
  FRAGMENT,
  FRAGMENT_SIZE,
  OP_CONTINUATION,
  OP_TEXT,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
} from "./frame.js";
export type { MessageType, ParserOptions, ParserSink } from "./frame.js";
export { unmask, unmaskascii, maskkey, keyat, writekey } from "./mask.js";
export { isvalidutf8, isascii, utf8scan, Utf8Validator, decodeascii, decodeutf8 } from "./utf8.js";
export { validclosecode, encodeclose, decodeclose, NO_STATUS, ABNORMAL, MAX_REASON } from "./closecode.js";
export type { CloseDecoded } from "./closecode.js";
export { acceptkey, genkey, validkey, hastoken } from "./handshake.js";
export { parseextensions, formatextension, istoken } from "./extension.js";
export type { ExtensionItem, ExtensionParam } from "./extension.js";
export {
  EXTENSION,
  COMPRESSION_DEFAULTS,
  compressionconfig,
  acceptdeflate,
  offerdeflate,
  confirmdeflate,
} from "./permessagedeflate.js";
export type { Compression, CompressionOptions, DeflateConfig, DeflateParams, DeflateAgreement, InflateError, MessageDeflate } from "./permessagedeflate.js";
export { Protocol } from "./protocol.js";
export type { ProtocolHost, ProtocolOptions, ProtocolState } from "./protocol.js";
export { Budget, BUDGET_FLOOR } from "./budget.js";
