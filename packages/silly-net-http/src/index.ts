// silly-net-http: HTTP/1.1 (and HTTP/2 over TLS) server, HTTP/1.1 client, in silly style.
//
//   import http from "silly-net-http";
//   const [server, err] = await http.listen({ addr: "127.0.0.1:8080", handler });
//   const [res, err] = await http.get("http://127.0.0.1:8080/");
import { listen, Server } from "./server.js";
import { ClientStream, get, post, request } from "./h1/client.js";

export { listen, get, post, request, Server, ClientStream };
export type { ServerStream } from "./stream.js";
export { DEFAULT_LIMITS, DEFAULT_TIMEOUTS } from "./types.js";
export type { ListenConf, ListenResult, CloseResult } from "./server.js";
export type {
  RequestOptions, RequestResult, ReadHeaderResult, FetchResult, Response, ResponseHead,
} from "./h1/client.js";
export type {
  Header, HeaderInput, Body, WriteResult, ReadResult, ReadAllResult, Limits, Timeouts,
} from "./types.js";

const http = { listen, get, post, request };
export default http;
