// demo.test.mjs: the demo page (web/index.html + web/demo.mjs) in a real
// browser. It builds and starts the dev server on a free port of 127.0.0.1,
// drives Debian's Chromium with playwright-core through every provider's flow
// (Keyfax's interview completed inside its frame), checks the bad-token cases,
// the page's accessibility (names, live regions, focus), Keyfax polling through
// 503 answers, a broker restart under a loaded page, a retry after a failed
// set-up and the page's width on a phone; saves screenshots under
// test-output/, and then scans everything the page saw (requests and answers,
// DOM, storage, console) and every file under web/ for the sandbox's secrets,
// which the dev server hands to this test alone through -secrets-out (a file
// per server run: the restart draws new ones).
//
// Run: node --test cmd/devserver/demo.test.mjs (./build.sh test runs it after
// building web/apisign.wasm; this file builds it too when it is missing).

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const webDir = path.join(root, "web");
const outDir = path.join(root, "test-output");

// The broker variables that hold secrets or credentials the page must never
// see. Everything else in the sandbox's environment is public (URLs, the
// Keyfax host name, paths, the Ansira scope, the Fortis domain) or given to the
// page by design (FORTIS_DEVELOPER_ID: the broker's /fortis/session answers it,
// Fortis wants it on every request).
const PUBLIC = new Set([
  "KEYFAX_BASE_URL", "KEYFAX_HOST_NAME", "NFON_BASE_URL", "NFON_ALLOWED_PATHS", "FORTIS_BASE_URL",
  "FORTIS_DOMAIN", "FORTIS_DEVELOPER_ID", "ANSIRA_TOKEN_URL", "ANSIRA_SCOPE", "FONN_BASE_URL",
  "FONN_ALLOWED_PATHS", "APISIGN_ALLOWED_ORIGINS", "APISIGN_MAX_BODY", "APISIGN_UPSTREAM_TIMEOUT",
]);
// The secrets the scan must at least cover, so that it cannot pass on an empty list.
const MUST_SCAN = [
  "KEYFAX_API_KEY", "KEYFAX_SIGNING_KEY", "NFON_SECRET", "FORTIS_PASSWORD",
  "ANSIRA_CLIENT_SECRET", "ANSIRA_ASSERTION", "FONN_SUBSCRIPTION_KEY", "FONN_ACCESS_TOKEN",
];

let work; // temporary directory: the dev server binary and its secrets files
let bin; // the dev server binary
let server; // the dev server process
let origin; // http://127.0.0.1:port
const secretsFiles = []; // one per server run
let browser;
let context;
let page;

// Everything the page saw, for the leak scan: { where, data: Buffer }.
const seen = [];
const pending = []; // promises filling `seen` (answer bodies are read asynchronously)
const exchanges = []; // { method, url, status, requestHeaders }
const consoleLines = [];

/**
 * settle keeps p for the leak scan, bounded: Playwright never settles some
 * reads (the body of an answer loading in a frame that is then removed, as the
 * Keyfax launch frame is), and such a read must not hang the test. What it
 * would have read is a file under web/, which the scan reads from disk anyway.
 */
function settle(p) {
  pending.push(Promise.race([p.catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]));
}

function record(where, data) {
  if (data === undefined || data === null) return;
  seen.push({ where, data: Buffer.isBuffer(data) ? data : Buffer.from(String(data)) });
}

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], timeout: 600_000, ...opts });
}

/** Starts the dev server binary and resolves with its URL (printed once it listens). */
function startServer(bin, args) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      p.kill("SIGKILL");
      reject(new Error(`dev server did not print its URL within 30 s:\n${out}`));
    }, 30_000);
    const onData = (d) => {
      out += d;
      const m = /apisign demo: (http:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ p, url: m[1] });
      }
    };
    p.stdout.on("data", onData);
    p.stderr.on("data", onData);
    p.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`dev server exited (${code}) before listening:\n${out}`));
    });
  });
}

before(async () => {
  if (!existsSync(path.join(webDir, "apisign.wasm")) || !existsSync(path.join(webDir, "wasm_exec.js"))) {
    run(path.join(root, "build.sh"), ["build"]);
  }
  work = mkdtempSync(path.join(tmpdir(), "apisign-demo-"));
  bin = path.join(work, "devserver");
  // The binary, not `go run`: stopping it stops the server (go run's child
  // would outlive a signal to go run).
  run("go", ["build", "-o", bin, "./cmd/devserver"]);
  ({ p: server, url: origin } = await startServer(bin, ["-port", "0", "-web", webDir, "-secrets-out", nextSecretsFile()]));
  mkdirSync(outDir, { recursive: true });

  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
  });
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(30_000);
  context.on("request", (req) => {
    const where = `request ${req.method()} ${req.url()}`;
    record(`${where} (URL)`, req.url());
    record(`${where} (body)`, req.postDataBuffer());
    settle(req.allHeaders().then((h) => record(`${where} (headers)`, JSON.stringify(h))));
  });
  context.on("response", (res) => {
    const req = res.request();
    const where = `answer to ${req.method()} ${req.url()}`;
    const x = { method: req.method(), url: req.url(), status: res.status(), requestHeaders: null };
    exchanges.push(x);
    settle(req.allHeaders().then((h) => (x.requestHeaders = h)));
    settle(res.allHeaders().then((h) => record(`${where} (headers)`, JSON.stringify(h))));
    // Redirects and some aborted answers have no body to read.
    settle(res.body().then((b) => record(`${where} (body)`, b)));
  });
  page = await context.newPage();
  page.on("console", (m) => {
    consoleLines.push(`${m.type()}: ${m.text()}`);
    record("console", m.text());
  });
  page.on("pageerror", (e) => {
    consoleLines.push(`pageerror: ${e.message}`);
    record("page error", `${e.message}\n${e.stack}`);
  });
  await page.goto(`${origin}/`);
}, { timeout: 900_000 }); // builds the module and the dev server when needed

function nextSecretsFile() {
  secretsFiles.push(path.join(work, `secrets-${secretsFiles.length}`));
  return secretsFiles.at(-1);
}

/** Stops the dev server: SIGTERM, then SIGKILL if it has not exited after 10 s. */
async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((r) => server.once("exit", r));
  server.kill("SIGTERM");
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  if (server.exitCode === null && server.signalCode === null) {
    server.kill("SIGKILL");
    await exited;
  }
}

after(async () => {
  await browser?.close();
  await stopServer();
  if (work) rmSync(work, { recursive: true, force: true });
}, { timeout: 30_000 });

const tid = (id) => `[data-testid="${id}"]`;

/** Keeps the DOM of every frame for the leak scan (sections are reset on each run). */
async function snapshotDom(label) {
  for (const f of page.frames()) {
    try {
      const html = await Promise.race([f.content(), new Promise((_, no) => setTimeout(() => no(new Error("timeout")), 5_000))]);
      record(`DOM (${label}, frame ${f.url()})`, html);
    } catch {
      // a frame that navigated away or was removed meanwhile
    }
  }
}

/** The status of a section once its run has ended. */
const ended = (name) => page.locator(`${tid(`status-${name}`)}:is([data-state="done"], [data-state="error"], [data-state="refused"])`);

/** Clicks Run and waits until the section says done; fails with its error otherwise. */
async function runFlow(name) {
  await page.click(tid(`run-${name}`));
  const status = ended(name);
  await status.waitFor();
  const state = await status.getAttribute("data-state");
  assert.equal(state, "done", `${name}: ${await status.textContent()}`);
  await snapshotDom(name);
}

/** The statuses of the answers shown in a section's log, in order. */
function shownStatuses(name) {
  return page.locator(`${tid(`log-${name}`)} .xchg`).evaluateAll((xs) => xs.map((x) => Number(x.dataset.status)));
}

async function shot(name) {
  await page.locator(tid(`flow-${name}`)).screenshot({ path: path.join(outDir, `demo-${name}.png`) });
}

test("the page loads its settings, a caller token and the module", { timeout: 90_000 }, async () => {
  await page.locator(`${tid("status-setup")}[data-state="done"]`).waitFor();
  const facts = await page.textContent(tid("facts-setup"));
  assert.match(facts, /apisign \d+\.\d+\.\d+, loaded in \d+ ms/);
  assert.match(facts, new RegExp(`${origin}/broker`));
  assert.ok(await page.locator(`${tid("run-nfon")}:enabled`).count(), "Run buttons are enabled once ready");
});

test("NFON: list, add and search through the broker, which signs", { timeout: 90_000 }, async () => {
  await runFlow("nfon");
  assert.deepEqual(await shownStatuses("nfon"), [200, 201, 200, 200]);
  const log = await page.textContent(tid("log-nfon"));
  assert.ok(log.includes("Signed by the broker: the NFON secret never reaches this page"));
  assert.ok(log.includes("/broker/nfon/api/customers/K1234/phone-books?search=apisign%20demo"));
  // "+49" goes out as %2B49 (NFON: special characters URL-encoded), and the
  // emulator finds the numbers; a raw "+" would have been read as a space.
  assert.ok(log.includes("/broker/nfon/api/customers/K1234/phone-books?search=%2B49"));
  assert.match(await page.textContent(`${tid("log-nfon")} li:nth-child(4)`), /[1-9]\d* numbers? starting \+49/);
  const sent = exchanges.filter((x) => x.url.startsWith(`${origin}/broker/nfon/`));
  assert.equal(sent.length, 4);
  await Promise.all(pending);
  for (const x of sent) {
    assert.ok(x.requestHeaders["x-apisign-caller"], "every broker call carries the caller token");
    assert.equal(x.requestHeaders.authorization, undefined, "the page sends no NFON signature: the broker does");
  }
  assert.match(await page.textContent(tid("result-nfon")), /apisign demo/);
  await shot("nfon");
});

test("Fortis: session from the broker, transactions straight from Fortis, close", { timeout: 90_000 }, async () => {
  await runFlow("fortis");
  assert.deepEqual(await shownStatuses("fortis"), [200, 200, 204]);
  await Promise.all(pending);
  const tx = exchanges.find((x) => x.url === `${origin}/sandbox/fortis/v2/transactions`);
  assert.ok(tx?.requestHeaders["access-token"] && tx.requestHeaders["developer-id"], "the session token and developer id go to Fortis");
  assert.match(await page.textContent(tid("result-fortis")), /Boiler service/);
  assert.match(await page.textContent(tid("lifetime-fortis")), /closed/);
  await shot("fortis");
});

test("Fortis SSO: the broker's one-time link opens in a frame; closing it ends the flow", { timeout: 90_000 }, async () => {
  await page.click(tid("run-fortis-sso"));
  const frame = page.frameLocator('[data-testid="fortis-frame"] iframe[data-apisign="fortis"]');
  await frame.locator("body", { hasText: "Signed in to Fortis (sandbox) as contact 11e95f8ec39de8fbdb0a4f1a" }).waitFor();
  await snapshotDom("fortis sso");
  await page.locator(tid("flow-fortis-sso")).screenshot({ path: path.join(outDir, "demo-fortis-sso.png") });
  await page.click(tid("close-fortis-sso"));
  const status = ended("fortis-sso");
  await status.waitFor();
  assert.equal(await status.getAttribute("data-state"), "done", await status.textContent());
  assert.deepEqual(await shownStatuses("fortis-sso"), [200]);
  await Promise.all(pending);
  const asked = exchanges.find((x) => x.url === `${origin}/broker/fortis/sso`);
  assert.ok(asked?.requestHeaders["x-apisign-caller"], "the link is asked of the broker with the caller token");
  assert.equal(await page.locator('iframe[data-apisign="fortis"]').count(), 0);
  assert.match(await page.textContent(tid("log-fortis-sso")), /the link is used up/);
});

test("Keyfax in XML: example start-up data, startup and renewal through the emulator", { timeout: 90_000 }, async () => {
  await runFlow("keyfax-xml");
  assert.deepEqual(await shownStatuses("keyfax-xml"), [200, 200, 200, 200]);
  await Promise.all(pending);
  const example = exchanges.find((x) => x.method === "GET" && x.url.endsWith("/sandbox/keyfax/Interview/api/v1/startup"));
  assert.equal(example.requestHeaders.accept, "application/xml");
  const post = exchanges.findLast((x) => x.method === "POST" && x.url.endsWith("/sandbox/keyfax/Interview/api/v1/startup"));
  assert.equal(post.requestHeaders["content-type"], "application/xml");
  assert.match(await page.textContent(tid("result-keyfax-xml")), /company/);
  assert.match(await page.textContent(tid("log-keyfax-xml")), /Session [0-9a-f-]{36} for /);
  await shot("keyfax-xml");
});

test("Ansira paging: filter, order_by, page and page_size, page after page", { timeout: 90_000 }, async () => {
  await runFlow("ansira-pages");
  await Promise.all(pending);
  const pages = exchanges.filter((x) => x.url.startsWith(`${origin}/sandbox/ansira/api/v1/campaigns?`));
  assert.ok(pages.length >= 3, pages.map((x) => x.url).join(" "));
  const last = pages.slice(-3).map((x) => new URL(x.url).searchParams);
  assert.deepEqual(last.map((q) => q.get("page")), ["1", "2", "3"]);
  assert.equal(last[0].get("filter"), "status eq 'active'");
  assert.equal(last[0].get("order_by"), "-budget");
  assert.equal(last[0].get("page_size"), "2");
  for (const x of pages.slice(-3)) assert.equal(x.requestHeaders["cache-control"], "no-cache");
  const result = await page.textContent(tid("result-ansira-pages"));
  assert.match(result, /Damp and mould awareness.*page 1/s);
  assert.match(await page.textContent(tid("log-ansira-pages")), /a short page, the last/);
  await shot("ansira-pages");
});

test("Ansira: access token from the broker, campaigns with Bearer", { timeout: 90_000 }, async () => {
  await runFlow("ansira");
  assert.deepEqual(await shownStatuses("ansira"), [200, 200]);
  assert.match(await page.textContent(tid("lifetime-ansira")), /expires .* \(in (\d+ h )?\d+ min \d+ s\)/);
  assert.match(await page.textContent(tid("result-ansira")), /Spring maintenance mailer/);
  await shot("ansira");
});

test("Fonn: projects through the broker, acting for another user", { timeout: 90_000 }, async () => {
  await runFlow("fonn");
  assert.deepEqual(await shownStatuses("fonn"), [200, 200]);
  assert.match(await page.textContent(tid("log-fonn")), /seen as user site-manager-42/);
  assert.match(await page.textContent(tid("result-fonn")), /Riverside housing block A/);
  await shot("fonn");
});

/** Answers the sandbox's Keyfax interview in the launch frame (without completing it). */
async function answerInterview() {
  const frame = page.frameLocator(`${tid("keyfax-frame")} iframe`);
  await frame.locator('input[value="No heating"]').check();
  await frame.locator('input[name="risk"][value="Yes"]').check();
  await frame.locator("#details").fill("Boiler shows error F28");
  return frame;
}

test("Keyfax: JWT, startup, interview in the frame, results 202 then 200, renew", { timeout: 90_000 }, async () => {
  await page.click(tid("run-keyfax"));
  const frame = await answerInterview();
  // Results are polled while the interview runs: at least one 202 before completing.
  await page.locator(`${tid("log-keyfax")} .xchg[data-status="202"]`).first().waitFor();
  await snapshotDom("keyfax interview");
  await page.screenshot({ path: path.join(outDir, "demo-keyfax-interview.png") });
  await frame.locator("#complete").click();

  const status = page.locator(`${tid("status-keyfax")}:is([data-state="done"], [data-state="error"])`);
  await status.waitFor();
  assert.equal(await status.getAttribute("data-state"), "done", await status.textContent());
  await snapshotDom("keyfax");

  const statuses = await shownStatuses("keyfax");
  assert.equal(statuses[0], 200, "JWT from the broker");
  assert.equal(statuses[1], 200, "startup");
  const polls = statuses.slice(2, -1);
  assert.ok(polls.length >= 2 && polls.slice(0, -1).every((s) => s === 202) && polls.at(-1) === 200, `polls: ${polls}`);
  assert.equal(statuses.at(-1), 200, "renew");
  assert.equal(await page.locator(`${tid("keyfax-frame")} iframe`).count(), 0, "the frame is gone once Keyfax returned");

  const result = await page.textContent(tid("result-keyfax"));
  assert.match(result, /completed/);
  assert.match(result, /HT0310/);
  assert.match(result, /Emergency/);
  assert.match(result, /Boiler shows error F28/);
  assert.match(await page.textContent(tid("lifetime-keyfax")), /renewed.*expires .*\(in 23 h/);

  // The headers shown are the headers sent: the startup call's Authorization.
  await Promise.all(pending);
  const startup = exchanges.find((x) => x.method === "POST" && x.url.endsWith("/sandbox/keyfax/Interview/api/v1/startup"));
  const auth = startup.requestHeaders.authorization;
  assert.match(auth, /^Bearer Sandbox:[\w-]+\.[\w-]+\.[\w-]+$/);
  const shown = await page.locator(`${tid("log-keyfax")} .req`).filter({ hasText: "/api/v1/startup" })
    .locator("dt", { hasText: /^Authorization$/ }).locator("xpath=following-sibling::dd[1]/span").getAttribute("title");
  assert.equal(shown, auth);
  await shot("keyfax");
});

// Depends on the module reporting a refusal as E_TOKEN_REFUSED (E_TOKEN_EXPIRED
// is for expiry only).
test("bad tokens: each case is refused, with its own status, log and code", { timeout: 90_000 }, async () => {
  await page.click(tid("run-bad-keyfax"));
  const kf = ended("bad-keyfax");
  await kf.waitFor();
  await snapshotDom("bad keyfax");
  await page.locator(tid("flow-bad")).screenshot({ path: path.join(outDir, "demo-bad-keyfax.png") });
  assert.equal(await kf.getAttribute("data-state"), "refused", await kf.textContent());
  assert.equal(await kf.getAttribute("data-code"), "E_TOKEN_REFUSED");
  assert.match(await kf.textContent(), /^Refused, as it should be: E_TOKEN_REFUSED \(HTTP 401\)/);
  assert.equal(await page.locator(`${tid("log-bad-keyfax")} .outcome.refused[data-code="E_TOKEN_REFUSED"]`).count(), 1);

  await page.click(tid("run-bad-caller"));
  const bc = ended("bad-caller");
  await bc.waitFor();
  assert.equal(await bc.getAttribute("data-state"), "refused", await bc.textContent());
  // The broker refused the caller token (X-Apisign-Error): the module asked for
  // a fresh one once, got the same forged string, and gave up.
  assert.equal(await bc.getAttribute("data-code"), "E_TOKEN_REFUSED");
  assert.match(await bc.textContent(), /E_TOKEN_REFUSED \(HTTP 401, broker: E_SIGNATURE\)/);
  // The second case did not erase the first.
  assert.equal(await kf.getAttribute("data-code"), "E_TOKEN_REFUSED");
  assert.equal(await page.locator(`${tid("log-bad-keyfax")} .outcome.refused`).count(), 1);
  assert.equal(await page.locator(`${tid("log-bad-caller")} .outcome.refused[data-code="E_TOKEN_REFUSED"]`).count(), 1);
  await snapshotDom("bad caller");
  await page.locator(tid("flow-bad")).screenshot({ path: path.join(outDir, "demo-bad-caller.png") });
});

test("keyboard and screen readers: a name per button, live statuses, focus back after a run, a visible ring", { timeout: 90_000 }, async () => {
  for (const [id, name] of [["run-keyfax", "Run the Keyfax flow"], ["run-nfon", "Run the NFON flow"], ["run-fortis", "Run the Fortis flow"], ["run-ansira", "Run the Ansira flow"], ["run-fonn", "Run the Fonn flow"]]) {
    assert.equal(await page.getByRole("button", { name, exact: true }).getAttribute("data-testid"), id);
  }
  const names = await page.locator("button").evaluateAll((bs) => bs.filter((b) => !b.hidden).map((b) => b.getAttribute("aria-label") ?? b.textContent.trim()));
  assert.equal(new Set(names).size, names.length, `every button has its own name: ${names}`);
  for (const id of ["setup", "keyfax", "nfon", "fortis", "ansira", "fonn", "bad-keyfax", "bad-caller"]) {
    const live = await page.locator(tid(`status-${id}`)).evaluate((e) => ({ role: e.getAttribute("role"), atomic: e.getAttribute("aria-atomic") }));
    assert.deepEqual(live, { role: "status", atomic: "true" }, `status-${id} is announced`);
  }

  // Run by keyboard: the button is disabled while the flow runs, and has the focus again after.
  await page.locator(tid("run-fonn")).press("Enter");
  const status = ended("fonn");
  await status.waitFor();
  assert.equal(await status.getAttribute("data-state"), "done", await status.textContent());
  const focus = await page.evaluate(() => {
    const b = document.activeElement;
    const cs = getComputedStyle(b);
    return { id: b.dataset.testid, visible: b.matches(":focus-visible"), style: cs.outlineStyle, width: parseFloat(cs.outlineWidth), color: cs.outlineColor, background: cs.backgroundColor };
  });
  assert.equal(focus.id, "run-fonn", "focus is back on the button that ran the flow");
  assert.ok(focus.visible && focus.style !== "none" && focus.width >= 2, `a visible focus ring: ${JSON.stringify(focus)}`);
  assert.notEqual(focus.color, focus.background, "the ring is not the button's own colour");
  await page.locator(tid("flow-fonn")).screenshot({ path: path.join(outDir, "demo-focus.png") });
});

// Depends on the module riding out 503 answers while it polls, until its own deadline.
test("Keyfax: results polling rides out 503 answers and keeps the interview frame", { timeout: 120_000 }, async () => {
  const results = `${origin}/sandbox/keyfax/Interview/api/v1/results`;
  let unavailable = 0;
  await page.click(tid("run-keyfax"));
  const frame = await answerInterview();
  await page.locator(`${tid("log-keyfax")} .xchg[data-status="202"]`).first().waitFor();
  // The next three polls answer 503, as an overloaded Keyfax would.
  await page.route(results, (route) => (unavailable < 3 ? (unavailable++, route.fulfill({ status: 503, contentType: "application/json", body: '{"message":"busy"}' })) : route.fallback()));
  try {
    await page.locator(`${tid("log-keyfax")} .xchg[data-status="503"]`).nth(2).waitFor();
    await page.locator(`${tid("log-keyfax")} .xchg[data-status="202"]`).nth(1).waitFor({ state: "attached" });
    assert.equal(await page.locator(`${tid("keyfax-frame")} iframe`).count(), 1, "the frame stays while polling rides out the 503s");
    assert.equal(await page.getAttribute(tid("status-keyfax"), "data-state"), "running");
    await frame.locator("#complete").click();
    const status = ended("keyfax");
    await status.waitFor();
    assert.equal(await status.getAttribute("data-state"), "done", await status.textContent());
  } finally {
    await page.unroute(results);
  }
  const polls = (await shownStatuses("keyfax")).slice(2, -1);
  assert.equal(polls.filter((s) => s === 503).length, 3, `polls: ${polls}`);
  assert.equal(polls.at(-1), 200, `polls: ${polls}`);
  assert.match(await page.textContent(tid("result-keyfax")), /HT0310/);
  await snapshotDom("keyfax 503");
});

const callerTokenFetches = () => exchanges.filter((x) => x.url === `${origin}/site/caller-token`).length;

/** Restarts the dev server on the same port: a new caller secret, so the page's cached caller token is refused. */
async function restartServer() {
  const port = new URL(origin).port;
  await stopServer();
  const started = await startServer(bin, ["-port", port, "-web", webDir, "-secrets-out", nextSecretsFile()]);
  server = started.p;
  assert.equal(started.url, origin);
}

// The Ansira case is the page's own broker call; the NFON case depends on the
// module handing the page's callerToken { refused } when the broker refuses it.
test("a broker restart under the loaded page: one fresh caller token, then the flows run", { timeout: 120_000 }, async () => {
  for (const name of ["ansira", "nfon"]) {
    await restartServer();
    await Promise.all(pending);
    const before = callerTokenFetches();
    await runFlow(name);
    await Promise.all(pending);
    assert.equal(callerTokenFetches() - before, 1, `${name}: one fresh caller token after the restart`);
    assert.equal(await page.getAttribute(tid("status-setup"), "data-state"), "done");
    assert.match(await page.textContent(tid("log-setup")), /Fetch a fresh caller token/);
  }
  await page.locator(tid("flow-setup")).screenshot({ path: path.join(outDir, "demo-restart.png") });
});

test("a failed set-up offers a retry: settings, then the module, then ready", { timeout: 90_000 }, async () => {
  const p = await context.newPage();
  const fail = { config: 1, module: 1 };
  await p.route(`${origin}/site/config`, (r) => (fail.config-- > 0 ? r.fulfill({ status: 503, body: "" }) : r.fallback()));
  await p.route(`${origin}/apisign.wasm`, (r) => (fail.module-- > 0 ? r.fulfill({ status: 503, body: "" }) : r.fallback()));
  try {
    await p.goto(`${origin}/`);
    const status = p.locator(tid("status-setup"));
    const retry = p.locator(tid("retry-setup"));
    for (const what of [/GET \/site\/config answered 503/, /E_HTTP .*module/]) {
      await p.locator(`${tid("status-setup")}[data-state="error"]`).waitFor();
      assert.match(await status.textContent(), what);
      assert.ok(await retry.isVisible(), "a retry button");
      assert.ok(await p.locator(tid("run-nfon")).isDisabled());
      await retry.click();
    }
    await p.locator(`${tid("status-setup")}[data-state="done"]`).waitFor();
    assert.ok(await retry.isHidden());
    assert.ok(await p.locator(tid("run-nfon")).isEnabled());
    assert.equal(await p.evaluate(() => document.activeElement.dataset.testid), "run-keyfax", "focus moves on from the hidden retry button");
  } finally {
    await p.close();
  }
});

test("a phone (390x844): no horizontal overflow once every flow has run", { timeout: 60_000 }, async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    const width = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
    await page.screenshot({ path: path.join(outDir, "demo-phone.png"), fullPage: true });
    assert.ok(width.scroll <= width.client, `the page is ${width.scroll} px wide in a ${width.client} px viewport`);
    const wide = await page.evaluate(() => [...document.querySelectorAll("body *")]
      .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
      .slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${e.className}: ${e.textContent.slice(0, 40)}`));
    assert.deepEqual(wide, [], "no element reaches past the viewport");
  } finally {
    await page.setViewportSize({ width: 1280, height: 900 });
  }
  await page.screenshot({ path: path.join(outDir, "demo-page.png"), fullPage: true });
});

/** A dev server's -secrets-out file: a JSON object or NAME=value lines. */
function readSecretsFile(file) {
  const text = readFileSync(file, "utf8");
  try {
    return JSON.parse(text);
  } catch {
    return Object.fromEntries(text.split("\n").filter((l) => l.includes("=")).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1).trim()]));
  }
}

/** Every form a secret could take on the wire: as is, base64, base64url, URL-encoded. */
function needles(name, value) {
  const forms = new Set([value, Buffer.from(value).toString("base64"), Buffer.from(value).toString("base64url"), encodeURIComponent(value)]);
  return [...forms].map((f) => ({ name, needle: Buffer.from(f) }));
}

function filesUnder(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

test("leak scan: no secret in requests, answers, DOM, storage, console or web/", { timeout: 90_000 }, async () => {
  // Every server run's secrets: the restart drew new ones.
  const list = [];
  for (const file of secretsFiles) {
    const all = readSecretsFile(file);
    const secrets = Object.entries(all).filter(([k, v]) => !PUBLIC.has(k) && typeof v === "string" && v !== "");
    const names = secrets.map(([k]) => k);
    for (const k of MUST_SCAN) assert.ok(names.includes(k), `${path.basename(file)} lacks ${k}`);
    for (const [k, v] of secrets) assert.ok(v.length >= 8, `${k} is too short to scan for safely`);
    list.push(...secrets.flatMap(([k, v]) => needles(k, v)));
    // Ansira's client credentials travel as Basic base64(id:secret): that form too.
    if (all.ANSIRA_CLIENT_ID && all.ANSIRA_CLIENT_SECRET) {
      list.push({ name: "Ansira Basic credentials", needle: Buffer.from(Buffer.from(`${all.ANSIRA_CLIENT_ID}:${all.ANSIRA_CLIENT_SECRET}`).toString("base64")) });
    }
  }
  assert.equal(secretsFiles.length, 3, "the scan covers the first server and both restarts");

  // What the page saw: network (already recorded), the DOM now, storage, cookies.
  await Promise.all(pending);
  await snapshotDom("end");
  record("storage", await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } })));
  record("cookies", JSON.stringify(await context.cookies()));
  for (const f of filesUnder(webDir)) record(`file ${path.relative(root, f)}`, readFileSync(f));

  // The scan saw what it should: every flow's traffic, the tokens the page does
  // hold (so headers and bodies are in the haystack), and the console.
  const haystack = Buffer.concat(seen.map((s) => s.data));
  for (const must of ["/broker/keyfax/token", "/api/v1/results", "/broker/nfon/", "/broker/fonn/", "/broker/fortis/session", "/broker/ansira/token", "/sandbox/ansira/api/v1/campaigns", "file web/apisign.wasm", "file web/demo.mjs"]) {
    assert.ok(haystack.includes(must) || seen.some((s) => s.where.includes(must)), `the scan did not see ${must}`);
  }
  const callerHeader = exchanges.find((x) => x.requestHeaders?.["x-apisign-caller"])?.requestHeaders["x-apisign-caller"];
  assert.ok(callerHeader && seen.some((s) => s.where.endsWith("(headers)") && s.data.includes(callerHeader)), "request headers are scanned");
  assert.ok(seen.some((s) => s.where.includes("/sandbox/keyfax/Interview/api/v1/results (body)") && s.data.includes("HT0310")), "answer bodies are scanned");
  assert.ok(seen.some((s) => s.where.startsWith("DOM") && s.data.includes("Report a repair")), "the interview frame's DOM is scanned");

  const found = new Set();
  for (const { name, needle } of list) {
    for (const s of seen) {
      if (s.data.includes(needle)) found.add(`${name} in ${s.where}`);
    }
  }
  // Names only: a failing scan must not print the secrets it found.
  assert.deepEqual([...found], [], `secrets reached the page:\n${[...found].join("\n")}`);
  assert.ok(consoleLines.every((l) => !/pageerror/.test(l)), `page errors:\n${consoleLines.join("\n")}`);
});
