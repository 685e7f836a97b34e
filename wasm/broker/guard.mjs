// The Worker's entry module: a guard in front of the entry that syumai/workers
// generates (worker.mjs, beside this file in build/; ./build.sh worker copies
// this file there). syumai/workers converts the request with Go's url.Parse
// before any broker code runs, and a URL that Go refuses (a malformed escape
// such as "%zz", "%" or "%u002e" in the path, a raw control byte such as DEL)
// makes it reject: the runtime would answer a bare 500 and log the error,
// whole URL included (issue 12, F7). The guard answers such a request with the
// broker's own JSON error instead, and turns anything else that throws into
// one, logging only the error's name.

import worker from "./worker.mjs";

// The Durable Object class of the broker's deployment-wide state: the runtime
// looks it up among the entry's exports.
export { BrokerState } from "./state.mjs";

// A byte Go's url.Parse refuses anywhere in a URL: the controls and DEL.
const controlByte = /[\u0000-\u001f\u007f]/;
// A "%" without two hex digits after it, in the path (Go checks the path's
// escapes; the query is passed on as sent and checked by the broker).
const badEscape = /%(?![0-9A-Fa-f]{2})/;

// brokerError is the broker's error answer (wasm/broker: writeError): JSON,
// X-Apisign-Error, never cached, never sniffed.
function brokerError(status, code, message) {
  return new Response(JSON.stringify({ code, message }), {
    status,
    headers: {
      "Content-Type": "application/json",
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
      "X-Apisign-Error": code,
      Vary: "Origin",
    },
  });
}

function malformedURL(url) {
  const q = url.indexOf("?");
  return controlByte.test(url) || badEscape.test(q < 0 ? url : url.slice(0, q));
}

export default {
  async fetch(request, env, ctx) {
    if (malformedURL(request.url)) {
      return brokerError(400, "E_INPUT", "request URL has a malformed percent-escape or a control character");
    }
    try {
      return await worker.fetch(request, env, ctx);
    } catch (e) {
      console.error(`apisign broker: the request failed (${e?.name ?? "error"})`);
      return brokerError(500, "E_INTERNAL", "the broker failed on this request");
    }
  },
};
