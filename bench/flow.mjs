// flow.mjs: the flow-overhead benchmark, shared by Node and Chromium. Keyfax
// startup + results through the module's client against the sandbox emulator,
// and the same two HTTP calls made with raw fetch (same Bearer header, same
// JSON bodies, answers parsed as JSON), timed in alternation.

import { paired } from "./lib.mjs";

// keyfaxFlow: server is the dev server's origin (it serves /site/config, the
// caller token, the broker and the emulators). Answers per-call milliseconds
// { module, fetch, overhead, rounds }: the medians of each and the median of
// the rounds' differences (a round is startup + results, so per call is half).
export async function keyfaxFlow(api, server, opts = {}) {
  const cfg = await (await fetch(server + "/site/config")).json();
  const caller = await (await fetch(server + "/site/caller-token")).json();
  const res = await fetch(cfg.brokerUrl + "/keyfax/token", { headers: { "X-Apisign-Caller": caller.token } });
  if (!res.ok) throw new Error(`broker /keyfax/token answered ${res.status}`);
  const minted = await res.json(); // { token, hostName, expiresAt }
  const { baseUrl, hostName } = cfg.keyfax;
  const startupData = { company: { value: "Sandbox_Dev" }, mode: { value: "RD" }, userName: { value: "administrator" } };

  const client = api.keyfax.client({ baseUrl, hostName, getToken: () => minted });
  const viaModule = async () => {
    const launch = await client.startup(startupData);
    const r = await client.results(launch);
    if (r.status !== "pending") throw new Error("module flow: results " + JSON.stringify(r));
  };

  const auth = `Bearer ${minted.hostName}:${minted.token}`;
  const post = async (path, body) => {
    const r = await fetch(baseUrl + path, {
      method: "POST",
      headers: { Authorization: auth, Accept: "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (r.status !== 200 && r.status !== 202) throw new Error(`raw fetch ${path}: ${r.status}`);
    const text = await r.text(); // 202 (still running) has no body
    return text ? JSON.parse(text) : null;
  };
  const viaFetch = async () => {
    const launch = await post("/api/v1/startup", startupData);
    if (!launch.guid || !launch.launchUrl) throw new Error("raw flow: startup " + JSON.stringify(launch));
    await post("/api/v1/results", { company: launch.company, guid: launch.guid });
  };

  const r = await paired(viaModule, viaFetch, opts);
  client.close();
  return { module: r.a / 2, fetch: r.b / 2, overhead: r.diff / 2, rounds: r.rounds };
}
