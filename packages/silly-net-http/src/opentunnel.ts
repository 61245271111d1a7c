// The key of the method by which an HTTP/2 stream of ours becomes a tunnel
// (protocol.tunnel): a symbol, so protocol.ts can recognise such a stream
// without loading the HTTP/2 code that defines it.
export const OPENTUNNEL: unique symbol = Symbol("silly-net-http.opentunnel");
