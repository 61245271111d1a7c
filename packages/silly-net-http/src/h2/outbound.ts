// Writing to an HTTP/2 stream (server and client alike) as our writes do:
// resolved once node:http2 took the bytes, or after its flow-control window
// opened again (backpressure); a reset stream refuses.
import type { Http2Stream } from "node:http2";
import type { Body, WriteResult } from "../types.js";
import { OK, OK_P } from "../results.js";

export const RESET: WriteResult = Object.freeze([false, "stream: the HTTP/2 stream was reset"]) as unknown as WriteResult;

export function send(st: Http2Stream, data: Body): Promise<WriteResult> {
  if (st.destroyed) return Promise.resolve(RESET);
  if (st.write(data)) return OK_P;
  return new Promise<WriteResult>((resolve) => {
    const ondrain = (): void => done(OK);
    const onclose = (): void => done(RESET);
    const done = (r: WriteResult): void => {
      st.off("drain", ondrain);
      st.off("close", onclose);
      resolve(r);
    };
    st.once("drain", ondrain);
    st.once("close", onclose);
  });
}
