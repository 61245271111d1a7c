// silly-net-http: an HTTP/1.1 and HTTP/2 server and client, in silly style.
//
//   import http from "silly-net-http";
//   const [server, err] = await http.listen({ addr: "127.0.0.1:8080", handler });
//   const [res, err] = await http.get("http://127.0.0.1:8080/");
import { listen, Server } from "./server.js";
import { get, post, request } from "./client.js";
import { NOEXTENDEDCONNECT } from "./types.js";

export { listen, get, post, request, Server, NOEXTENDEDCONNECT };
export { DEFAULT_LIMITS, DEFAULT_TIMEOUTS } from "./types.js";
export type { ListenConf, ListenResult, CloseResult } from "./server.js";
export type {
  ServerStream, ClientStream, RequestOptions, RequestResult, ReadHeaderResult, FetchResult, Response, ResponseHead,
  Header, HeaderInput, Body, WriteResult, ReadResult, ReadAllResult, Limits, Timeouts,
} from "./types.js";

const http = { listen, get, post, request, NOEXTENDEDCONNECT };
export default http;
