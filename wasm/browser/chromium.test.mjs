// The browser module in a real browser (Chromium through playwright-core): a
// page on one origin loads web/apisign.mjs with <script type="module">, runs
// the PROTOCOLS.md vectors, and runs the Keyfax flow against the fake
// providers on another origin (CORS, preflights), including launch in an
// iframe and in a popup that come back to the page's return URL, plus the
// fallbacks when a cross-origin answer hides Date or Retry-After.
// Needs web/wasm_exec.js (./build.sh build) and /usr/bin/chromium.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import { chromium } from "playwright-core";
import { debugWasmBytes, debugWasmFile, webDir } from "./testdata/module.mjs";
import { startFakeProviders } from "./testdata/fakeproviders.mjs";

const CHROMIUM = "/usr/bin/chromium";
const testdata = new URL("./testdata/", import.meta.url);

// The test page: everything it does is a function the test calls with evaluate.
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>apisign browser test</title>
<div id="frame" style="width:800px;height:600px"></div>
<button id="pop">launch in a popup</button>
<script type="module">
import { load, ApisignError } from "./apisign.mjs";
import { runVectors } from "./vectors.mjs";

const t0 = performance.now();
const api = await load();
const loadMs = performance.now() - t0;

function keyfax(providers) {
  return api.keyfax.client({
    baseUrl: providers + "/Interview",
    hostName: "Dev",
    getToken: async ({ signal }) => (await fetch(providers + "/broker/keyfax/token", { signal })).json(),
    retry: { baseMs: 1, capMs: 5 },
  });
}

const startupData = { mode: { value: "RD" }, company: { value: "OL3_Dev" }, returnUrl: { value: location.origin + "/return.html" } };

window.basics = async () => {
  const codes = [];
  for (const f of [() => api.nfon.sign(null), () => api.nfon.sign({ method: 1 }), () => api.keyfax.basic({ ...{} }), () => api._debug.panic()]) {
    try { f(); codes.push("no error"); } catch (e) { codes.push((e instanceof ApisignError) + " " + e.code); }
  }
  return { loadMs, same: (await load()) === api, vectors: runVectors(api), codes, after: runVectors(api).length };
};

window.iframeFlow = async (providers) => {
  const kf = keyfax(providers);
  const launch = await kf.startup(startupData);
  const first = await kf.results(launch);
  const back = await kf.launch(launch, { target: "iframe", container: "#frame" });
  const results = await kf.waitForResults(launch, { intervalMs: 20 });
  const renewed = await kf.renew();
  kf.close();
  return { launch, first, back, frames: document.querySelectorAll("iframe").length, results, renewed };
};

window.abortLaunch = async (providers) => {
  const kf = keyfax(providers);
  const launch = await kf.startup(startupData);
  const ac = new AbortController();
  const p = kf.launch({ launchUrl: providers + "/never-returns" }, { signal: ac.signal, returnUrl: location.origin + "/return.html" });
  await new Promise((r) => setTimeout(r, 100));
  const framesWhileOpen = document.querySelectorAll("iframe").length;
  ac.abort();
  let code = "";
  try { await p; } catch (e) { code = e.code; }
  return { code, framesWhileOpen, framesAfter: document.querySelectorAll("iframe").length, guid: launch.guid };
};

window.popupFlow = null;
document.getElementById("pop").addEventListener("click", () => {
  const providers = window.providers;
  const kf = keyfax(providers);
  // startup first, then open the popup in the same click: window.open needs the gesture,
  // so the launch URL is opened as soon as the startup answer is there (Chromium keeps
  // the user activation for a few seconds).
  window.popupFlow = kf.startup(startupData).then(async (launch) => {
    const back = await kf.launch(launch, { target: "popup" });
    const results = await kf.waitForResults(launch, { intervalMs: 20 });
    return { back, results, guid: launch.guid };
  }).catch((e) => ({ error: e.code + " " + e.message }));
});

window.hiddenHeaders = async (providers) => {
  const kf = keyfax(providers);
  const launch = await kf.startup(startupData);
  const offsetHidden = api.clock.offsetMs();
  let retried;
  try { retried = (await kf.results(launch)).status; } catch (e) { retried = e.code + " " + e.status; }
  kf.close();
  return { offsetHidden, retried };
};

window.visibleHeaders = async (providers) => {
  const kf = keyfax(providers);
  await kf.startup(startupData);
  const offset = api.clock.offsetMs();
  let tooLong;
  const launch = await kf.startup(startupData);
  try { tooLong = (await kf.results(launch)).status; } catch (e) { tooLong = e.code + " " + e.status; }
  kf.close();
  return { offset, tooLong };
};

// Fortis SSO: the link from the (fake) broker opens in a frame; the promise
// resolves once the page removes the frame.
window.ssoFlow = async (providers, callerToken) => {
  // The frame's load listener is attached as the frame is inserted (a
  // MutationObserver runs before the frame's load task): polling for the frame
  // first could miss a link that loads quickly.
  const loaded = new Promise((resolve) => {
    const seen = new MutationObserver(() => {
      const f = document.querySelector('iframe[data-apisign="fortis"]');
      if (f) {
        seen.disconnect();
        f.addEventListener("load", () => resolve(f), { once: true });
      }
    });
    seen.observe(document.body, { childList: true, subtree: true });
  });
  const p = api.fortis.sso({ brokerUrl: providers + "/broker", callerToken, fields: { contact_id: "c-9" }, container: "#frame" });
  const frame = await loaded;
  const src = frame.src;
  frame.remove();
  return { src, title: frame.title, result: await p };
};

// Ansira pages and pacing over the page's fetch, across origins.
window.ansiraPages = async (providers) => {
  const c = api.ansira.client({ baseUrl: providers + "/ansira", environment: "stage", retry: { retries: 0 }, getToken: () => ({ access_token: "ansira-chromium", expires_in: 3600 }) });
  const pages = [];
  for await (const p of c.pages("/api/v1/campaigns", { pageSize: 5, filter: "a eq 'b'" })) pages.push(p.records.length);
  const burst = await Promise.allSettled(Array.from({ length: 7 }, () => c.request("GET", "/api/x", undefined, { query: { q: "+1" } })));
  c.close();
  return { pages, burst: burst.map((r) => r.status) };
};

window.ready = true;
</script>`;

const RETURN_PAGE = `<!doctype html><title>back from Keyfax</title><p>Back.</p>`;

let providers;
let pageServer;
let pageBase;
let browser;

before(async () => {
  providers = await startFakeProviders();
  providers.state.autoComplete = false; // sessions end only when the launch page completes them
  const files = {
    "/apisign.mjs": [new URL("apisign.mjs", webDir), "text/javascript"],
    "/wasm_exec.js": [new URL("wasm_exec.js", webDir), "text/javascript"],
    // The test build of the module: the page calls its hooks (api._debug).
    "/apisign.wasm": [debugWasmFile, "application/wasm"],
    "/vectors.mjs": [new URL("vectors.mjs", testdata), "text/javascript"],
  };
  for (const f of fs.readdirSync(new URL("apisign/", webDir)).filter((f) => f.endsWith(".mjs"))) {
    files[`/apisign/${f}`] = [new URL(`apisign/${f}`, webDir), "text/javascript"];
  }
  debugWasmBytes();
  pageServer = http.createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/test.html" || path === "/return.html") {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      return res.end(path === "/test.html" ? PAGE : RETURN_PAGE);
    }
    const f = files[path];
    if (!f || !fs.existsSync(f[0])) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { "Content-Type": f[1], "Cache-Control": "no-store" });
    res.end(fs.readFileSync(f[0]));
  });
  await new Promise((r) => pageServer.listen(0, "127.0.0.1", r));
  pageBase = `http://127.0.0.1:${pageServer.address().port}`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    timeout: 60000,
  });
});

after(async () => {
  await browser?.close();
  pageServer?.closeAllConnections();
  await new Promise((r) => pageServer?.close(r));
  await providers?.close();
});

async function openPage() {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${pageBase}/test.html`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30000 });
  await page.evaluate((p) => (window.providers = p), providers.base);
  return { page, errors };
}

test("Chromium: load via <script type=module>, the vectors, errors", { timeout: 90000 }, async () => {
  const { page, errors } = await openPage();
  const r = await page.evaluate(() => window.basics());
  assert.deepEqual(r.vectors, []);
  assert.equal(r.same, true, "a second load() is the same instance");
  assert.deepEqual(r.codes, ["true E_INPUT", "true E_INPUT", "true E_INPUT", "true E_INTERNAL"]);
  assert.equal(r.after, 0, "the module answers after the errors");
  assert.ok(r.loadMs > 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("Chromium: the Keyfax flow across origins, launch in an iframe", { timeout: 90000 }, async () => {
  const { page, errors } = await openPage();
  const r = await page.evaluate((p) => window.iframeFlow(p), providers.base);
  assert.equal(r.first.status, "pending");
  assert.equal(r.back.url.split("?")[0], `${pageBase}/return.html`);
  assert.deepEqual(r.back.params, { status: "1", co: "OL3_Dev", guid: r.launch.guid });
  assert.equal(r.frames, 0, "the frame is removed");
  assert.equal(r.results.status, "done");
  assert.equal(r.results.data.KeyfaxData.GUID, r.launch.guid);
  assert.ok(Date.parse(r.renewed.expiresAt) > Date.now());
  // The browser preflighted the cross-origin Bearer requests.
  assert.ok(providers.state.log.some((x) => x.method === "OPTIONS" && x.path === "/Interview/api/v1/startup"));
  assert.deepEqual(errors, []);

  const a = await page.evaluate((p) => window.abortLaunch(p), providers.base);
  assert.deepEqual({ code: a.code, open: a.framesWhileOpen, after: a.framesAfter }, { code: "E_ABORTED", open: 1, after: 0 });
  await page.close();
});

test("Chromium: Fortis SSO opens the broker's one-time link in a frame; removing the frame ends it", { timeout: 90000 }, async () => {
  const { page, errors } = await openPage();
  const r = await page.evaluate(([p, t]) => window.ssoFlow(p, t), [providers.base, providers.state.callerToken]);
  assert.match(r.src, new RegExp(`^${providers.base}/fortis/sso/[0-9a-f-]{36}$`));
  assert.equal(r.title, "Fortis");
  assert.deepEqual(r.result, { closed: true });
  assert.equal(providers.state.ssoCodes.size, 0, "the link was used (once)");
  assert.deepEqual(errors, []);
  await page.close();
});

test("Chromium: Ansira pages, and a paced burst within the per-IP limit", { timeout: 90000 }, async () => {
  const { page, errors } = await openPage();
  providers.state.ansiraTokens.add("ansira-chromium");
  await page.evaluate(() => new Promise((r) => setTimeout(r, 1000))); // the fake's window is empty
  providers.state.ansiraPerSecond = 5;
  try {
    const r = await page.evaluate((p) => window.ansiraPages(p), providers.base);
    assert.deepEqual(r.pages, [5, 5, 2]);
    assert.deepEqual(r.burst, Array(7).fill("fulfilled"), "spread, not refused");
    assert.ok(providers.state.log.some((x) => x.path === "/ansira/api/x" && x.search === "?q=%2B1"));
  } finally {
    providers.state.ansiraPerSecond = 0;
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test("Chromium: launch in a popup", { timeout: 90000 }, async () => {
  const { page, errors } = await openPage();
  await page.click("#pop");
  await page.waitForFunction(() => window.popupFlow !== null);
  const r = await page.evaluate(() => window.popupFlow);
  assert.equal(r.error, undefined, r.error);
  assert.equal(r.back.params.guid, r.guid);
  assert.equal(r.results.status, "done");
  assert.equal(page.context().pages().length, 1, "the popup was closed");
  assert.deepEqual(errors, []);
  await page.close();
});

test("Chromium: hidden Date and Retry-After fall back to no correction and to backoff", { timeout: 90000 }, async () => {
  const { page } = await openPage();
  const s = providers.state;
  s.dateOffsetMs = 2 * 3600e3; // the server's clock is two hours ahead
  s.exposeDate = false;
  s.exposeRetryAfter = false;
  try {
    // Retry-After: 3600 is unreadable here, so the module backs off and retries.
    s.failNext.push({ prefix: "/Interview/api/v1/results", status: 429, headers: { "Retry-After": "3600" } });
    const hidden = await page.evaluate((p) => window.hiddenHeaders(p), providers.base);
    assert.deepEqual(hidden, { offsetHidden: 0, retried: "pending" });
    // Readable: the offset is learned, and a Retry-After over a minute ends the retries.
    s.exposeDate = true;
    s.exposeRetryAfter = true;
    s.failNext.push({ prefix: "/Interview/api/v1/results", status: 429, headers: { "Retry-After": "3600" } });
    const visible = await page.evaluate((p) => window.visibleHeaders(p), providers.base);
    assert.ok(Math.abs(visible.offset - 2 * 3600e3) < 5000, String(visible.offset));
    assert.equal(visible.tooLong, "E_HTTP 429");
  } finally {
    s.dateOffsetMs = 0;
    s.exposeDate = true;
    s.exposeRetryAfter = true;
  }
  await page.close();
});
