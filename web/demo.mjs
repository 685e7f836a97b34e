// demo.mjs: the apisign demo page, written as an embedding front end would
// write it: public settings from its own backend (GET /site/config), a
// short-lived broker caller token from its backend (GET /site/caller-token),
// then only the public JS API of ./apisign.mjs.
//
// To show each request as sent, every client gets a `fetch` option (part of the
// public API) that records the method, URL, headers and body it is handed and
// the answer it returns. The page never has a long-lived secret, so none can be
// shown: the log says, per request, who holds the secret it needs.
//
// Token functions (callerToken, getToken) receive { signal, refused } from the
// module: refused is set when the server refused the token the module had, so
// the page fetches a fresh one instead of handing back a cached one.

import { load } from "./apisign.mjs";

// ---- small DOM helpers (textContent only: nothing from the network becomes HTML)

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

/** A long token shortened for reading; the whole value stays in the title. */
function abbreviate(s, max = 64) {
  s = String(s);
  return s.length <= max ? s : `${s.slice(0, 28)}…${s.slice(-10)} (${s.length} chars)`;
}

function valueEl(s, max) {
  s = String(s);
  return el("span", { title: s.length > (max ?? 64) ? s : undefined }, abbreviate(s, max));
}

function facts(dl, pairs) {
  dl.replaceChildren(...pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v instanceof Node ? v : String(v))]));
}

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

// ---- time: lifetimes and countdowns

function duration(ms) {
  if (ms <= 0) return "expired";
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n) => String(n).padStart(2, "0");
  return h > 0 ? `${h} h ${pad(m)} min ${pad(s % 60)} s` : `${m} min ${pad(s % 60)} s`;
}

/** An expiry time with a live countdown ("in 9 min 58 s"). */
function expiry(at) {
  const t = new Date(at);
  const when = el("time", { datetime: t.toISOString() }, t.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC"));
  const left = el("span", { class: "countdown", "data-until": t.getTime() });
  tick(left);
  return el("span", {}, "expires ", when, " (", left, ")");
}

function tick(e) {
  const ms = Number(e.dataset.until) - Date.now();
  e.textContent = ms > 0 ? `in ${duration(ms)}` : "expired";
  e.classList.toggle("expired", ms <= 0);
}

setInterval(() => document.querySelectorAll(".countdown").forEach(tick), 1000);

// ---- errors

/** An error of the page's own calls, shaped like the module's (code, status, data). */
class PageError extends Error {
  constructor(code, message, status, data) {
    super(message);
    this.code = code;
    if (status !== undefined) this.status = status;
    if (data !== undefined) this.data = data;
  }
}

/** A refusal: the server turned a token down (not a failure of the page or the network). */
function isRefusal(e) {
  return e?.code === "E_TOKEN_REFUSED" || (e?.code === "E_HTTP" && (e.status === 401 || e.status === 403));
}

function describeError(e) {
  const code = typeof e?.code === "string" ? e.code : "E_INTERNAL";
  const extra = [];
  if (e?.status !== undefined) extra.push(`HTTP ${e.status}`);
  if (typeof e?.data?.code === "string") extra.push(`broker: ${e.data.code}`);
  const msg = e?.message || String(e);
  return { code, text: `${code}${extra.length ? ` (${extra.join(", ")})` : ""}: ${msg}` };
}

// ---- request recording

const decoder = new TextDecoder();

function bodyText(b) {
  if (b === undefined || b === null) return "";
  if (typeof b === "string") return b;
  if (b instanceof ArrayBuffer || ArrayBuffer.isView(b)) return decoder.decode(b);
  if (b instanceof URLSearchParams) return b.toString();
  return `[${Object.prototype.toString.call(b)}]`;
}

function pretty(text, max = 2400) {
  let s = text;
  try {
    s = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: shown as it is
  }
  return s.length > max ? `${s.slice(0, max)}\n… (${s.length - max} more characters)` : s;
}

function headerList(h) {
  if (!h) return [];
  if (typeof Headers !== "undefined" && h instanceof Headers) return [...h.entries()];
  if (Array.isArray(h)) return h;
  return Object.entries(h);
}

function headersEl(list) {
  return el("dl", { class: "headers" }, list.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, valueEl(v))]));
}

let settings = null; // GET /site/config

/** Who holds the secret a request needs: said next to each request. */
function secretNote(url) {
  const b = settings?.brokerUrl ?? "\0";
  const notes = [
    [`${b}/nfon/`, "Signed by the broker: the NFON secret never reaches this page. The broker adds NFON's signature headers (Authorization, x-nfon-date and, for POST, Content-MD5)."],
    [`${b}/fonn/`, "Forwarded by the broker, which adds Ocp-Apim-Subscription-Key and Authorization: neither reaches this page."],
    [`${b}/keyfax/token`, "The broker calls Keyfax GET /api/v1/token signed with Basic (API key + signing key): neither reaches this page, only the JWT does."],
    [`${b}/ansira/token`, "The broker posts its client secret (Basic) and its assertion to Ansira: neither reaches this page, only the access token does."],
    [`${b}/fortis/session/`, "The broker ends the session at Fortis (DELETE /v2/token/{token}): no secret reaches this page."],
    [`${b}/fortis/session`, "The broker logs in to Fortis with the username and password: neither reaches this page, only the session token does."],
    [settings?.keyfax?.baseUrl ?? "\0", "Bearer {HostName}:{JWT}: the short-lived JWT is the only credential."],
    [settings?.fortis?.baseUrl ?? "\0", "access-token (the session token) and developer-id (an identifier): no secret."],
    [settings?.ansira?.apiBaseUrl ?? "\0", "Bearer with the short-lived access token: no secret."],
    ["/site/config", "Public settings from the embedding site: where the broker and the providers are, the Keyfax host name. No secret."],
    ["/site/caller-token", "The embedding site's backend (here, the dev server) mints the caller token with the caller secret, which stays there."],
  ];
  const u = new URL(url, location.href).href;
  for (const [prefix, note] of notes) {
    if (u.startsWith(prefix) || (prefix.startsWith("/") && new URL(u).pathname.startsWith(prefix))) return note;
  }
  return "";
}

/**
 * recorder returns a fetch that logs each exchange into sink() (a Step) and
 * passes the request on unchanged. who labels the sender ("apisign" for the
 * module, "page" for this page's own calls).
 */
function recorder(who, sink) {
  return async (input, init = {}) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const method = (init.method ?? "GET").toUpperCase();
    const x = sink()?.exchange({ who, method, url, headers: headerList(init.headers), body: bodyText(init.body) });
    const t0 = performance.now();
    let res;
    try {
      res = await fetch(input, init);
    } catch (e) {
      x?.failed(e);
      throw e;
    }
    const ms = Math.round(performance.now() - t0);
    if (x) {
      // Read a copy of the answer before handing it on, so that the log is
      // complete when the call that made the request settles.
      x.answered(res, ms, await res.clone().text().catch(() => ""));
    }
    return res;
  };
}

// ---- a flow: one section, its steps and its status

class Step {
  constructor(flow, title, note) {
    this.flow = flow;
    this.exchanges = el("div", { class: "exchanges" });
    this.li = el("li", { class: "step", "data-state": "running" },
      el("h3", {}, title),
      note ? el("p", { class: "note" }, note) : null,
      this.exchanges);
    flow.log.append(this.li);
    this.last = null;
  }

  note(text) {
    this.exchanges.append(el("p", { class: "note" }, text));
  }

  /** exchange adds a request; a repeat of the previous one (polling) is shown on one line. */
  exchange({ who, method, url, headers, body }) {
    const key = `${method} ${url}`;
    const repeat = this.last === key;
    this.last = key;
    const step = this;
    const line = el("p", { class: "line" }, el("span", { class: "who" }, who === "page" ? "page →" : "apisign →"),
      " ", el("b", {}, method), " ", el("span", { class: "url" }, url));
    const res = el("div", { class: "res pending" }, "waiting for the answer…");
    let box;
    if (repeat) {
      box = el("div", { class: "xchg repeat", "data-method": method }, el("p", { class: "line" }, "again: ", el("b", {}, method), " ", el("span", { class: "url" }, url)), res);
    } else {
      const note = secretNote(url);
      box = el("div", { class: "xchg", "data-method": method },
        el("div", { class: "req" }, line,
          headers.length ? headersEl(headers) : el("p", { class: "none" }, "no headers"),
          body ? el("pre", { class: "body" }, pretty(body)) : null,
          note ? el("p", { class: "secret" }, note) : null),
        res);
    }
    this.exchanges.append(box);
    return {
      answered(r, ms, text) {
        const ok = r.status >= 200 && r.status < 300;
        box.dataset.status = r.status;
        res.className = `res ${ok ? "ok" : "bad"}`;
        const status = el("p", { class: "line" }, el("b", { class: "code" }, `${r.status} ${r.statusText}`), ` · ${ms} ms`);
        // A repeat with the same status as the one before it is one line;
        // a change (202 -> 200) is shown in full.
        const same = step.lastStatus === r.status;
        step.lastStatus = r.status;
        if (repeat && same) {
          res.replaceChildren(status);
          return;
        }
        const hs = [...r.headers.entries()];
        res.replaceChildren(status,
          el("details", {}, el("summary", {}, `response headers (${hs.length})`), headersEl(hs)),
          text ? el("pre", { class: "body" }, pretty(text)) : el("p", { class: "none" }, "empty body"));
      },
      failed(e) {
        res.className = "res bad";
        res.textContent = `no answer: ${e?.message ?? e}`;
      },
    };
  }

  done(text) {
    this.li.dataset.state = "done";
    if (text) this.li.append(el("p", { class: "outcome" }, text));
  }

  fail(e, refusal = false) {
    const { code, text } = describeError(e);
    this.li.dataset.state = refusal ? "refused" : "error";
    this.li.append(el("p", { class: `outcome ${refusal ? "refused" : "error"}`, "data-code": code }, refusal ? `Refused: ${text}` : text));
  }
}

class Flow {
  /**
   * name picks the elements (data-testid flow-, log-, status-, lifetime-,
   * result- + name). expectRefusal: the flow shows that a bad token is
   * refused, so a refusal is its expected end and success is the error.
   */
  constructor(name, { expectRefusal = false } = {}) {
    this.name = name;
    this.expectRefusal = expectRefusal;
    this.box = byTestId(`flow-${name}`);
    this.log = byTestId(`log-${name}`);
    this.statusEl = byTestId(`status-${name}`);
    this.lifetimeEl = byTestId(`lifetime-${name}`);
    this.resultEl = byTestId(`result-${name}`);
    this.current = null;
    this.steps = [];
    // The module's fetch and the page's own fetch, both recorded into the current step.
    this.apisignFetch = recorder("apisign", () => this.current);
    this.pageFetch = recorder("page", () => this.current);
  }

  step(title, note) {
    const s = new Step(this, title, note);
    this.current = s;
    this.steps.push(s);
    this.status("running", `Running: ${title}…`);
    return s;
  }

  status(state, text, code) {
    this.statusEl.dataset.state = state;
    if (code) this.statusEl.dataset.code = code;
    else delete this.statusEl.dataset.code;
    this.statusEl.textContent = text;
  }

  lifetime(label, at, extra) {
    if (!this.lifetimeEl) return;
    this.lifetimeEl.replaceChildren(el("strong", {}, `${label}: `), at ? expiry(at) : "", extra ? ` ${extra}` : "");
  }

  /**
   * run resets the section, runs body, and shows done or the error with its
   * code; it resolves to whether the flow ended as it should. trigger, the
   * button that started it, gets the focus back: disabled during the run, it
   * lost it to <body>.
   */
  async run(body, trigger) {
    const buttons = this.box.querySelectorAll("button");
    buttons.forEach((b) => (b.disabled = true));
    this.log.replaceChildren();
    this.resultEl?.replaceChildren();
    this.lifetimeEl?.replaceChildren();
    this.steps = [];
    const t0 = performance.now();
    try {
      await body(this);
      if (this.expectRefusal) throw new PageError("E_NOT_REFUSED", "the bad token was accepted");
      for (const s of this.steps) if (s.li.dataset.state === "running") s.done();
      this.status("done", `Done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return true;
    } catch (e) {
      const { code, text } = describeError(e);
      const refusal = this.expectRefusal && isRefusal(e);
      const failed = this.steps.filter((s) => s.li.dataset.state === "running");
      (failed.length ? failed : [this.current ?? this.step("Error")]).forEach((s) => s.fail(e, refusal));
      if (refusal) this.status("refused", `Refused, as it should be: ${text}`, code);
      else this.status("error", `Error ${text}`, code);
      return refusal;
    } finally {
      this.current = null;
      buttons.forEach((b) => (b.disabled = false));
      const focused = document.activeElement;
      if (trigger && (!focused || focused === document.body || focused === trigger)) trigger.focus();
    }
  }
}

// ---- the embedding site's part: settings and caller token

const setup = new Flow("setup");
const siteFetch = recorder("page", () => setup.current);

async function getJSON(f, url, init) {
  let res;
  try {
    res = await f(url, init);
  } catch {
    throw new PageError("E_NETWORK", `${init?.method ?? "GET"} ${new URL(url, location.href).pathname} got no answer`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!res.ok) {
    throw new PageError("E_HTTP", `${init?.method ?? "GET"} ${new URL(url, location.href).pathname} answered ${res.status}${data?.message ? `: ${data.message}` : ""}`, res.status, data);
  }
  return data;
}

const caller = { token: "", expiresAt: 0, pending: null };

/**
 * The broker caller token: the module's callerToken and the page's own broker
 * calls. It is cached until it has under a minute left. When the broker
 * refused it (refused: true, or the refused token itself; a restarted broker
 * has a new caller secret), the cache is dropped and one fresh token fetched.
 * Calls that arrive while a fetch runs share it, so a broker restart costs one
 * fetch, not one per waiting request. The fetch takes no caller's signal: one
 * caller giving up must not fail the others.
 */
function callerToken({ refused } = {}) {
  if (refused && (typeof refused !== "string" || refused === caller.token)) caller.expiresAt = 0;
  if (caller.pending) return caller.pending;
  if (caller.expiresAt - Date.now() > 60_000) return Promise.resolve(caller.token);
  caller.pending = fetchCallerToken(Boolean(refused)).finally(() => (caller.pending = null));
  return caller.pending;
}

async function fetchCallerToken(refused) {
  const prev = setup.current;
  const s = refused ? setup.step("Fetch a fresh caller token", "The broker refused the cached one: a restarted broker has a new caller secret.") : null;
  setup.current = s ?? setup.steps.at(-1) ?? null;
  try {
    const r = await getJSON(siteFetch, "/site/caller-token");
    caller.token = r.token;
    caller.expiresAt = Date.parse(r.expiresAt);
    showSetup();
    if (s) {
      s.done("Fresh caller token.");
      setup.status("done", "Ready: the broker refused the cached caller token, the page fetched a fresh one.");
    }
    return caller.token;
  } catch (e) {
    if (s) {
      const { code, text } = describeError(e);
      s.fail(e);
      setup.status("error", `Error ${text}`, code);
    }
    throw e;
  } finally {
    setup.current = prev;
  }
}

/**
 * brokerJSON is a call of the page itself to the broker (route: "/keyfax/token",
 * …) with the caller token. A 401 is the broker refusing the token: the page
 * fetches one fresh token and tries once more.
 */
async function brokerJSON(f, route, init = {}) {
  const call = (token) => getJSON(f.pageFetch, `${settings.brokerUrl}${route}`, { ...init, headers: { ...init.headers, "X-Apisign-Caller": token } });
  const token = await callerToken();
  try {
    return await call(token);
  } catch (e) {
    if (e?.status !== 401) throw e;
    f.current?.note("The broker refused the caller token: the page fetches a fresh one and asks again.");
    return call(await callerToken({ refused: token }));
  }
}

let api = null;
let loadMs = 0;

function showSetup() {
  facts(byTestId("facts-setup"), [
    ["module", api ? `apisign ${api.version}, loaded in ${loadMs} ms` : "not loaded"],
    ["broker", settings?.brokerUrl ?? "?"],
    ["caller token", caller.expiresAt ? el("span", {}, valueEl(caller.token, 40), " ", expiry(caller.expiresAt)) : "none"],
  ]);
}

// ---- Keyfax

/** Keyfax: JWT from the broker, startup, launch in a frame while polling results, renew. */
// Keyfax's priority codes, as words (its results carry the code only).
const PRIORITIES = { E: "Emergency", U: "Urgent", R: "Routine" };

async function keyfaxFlow(f) {
  const kc = settings.keyfax;
  let s = f.step("1. Get a Keyfax JWT from the broker", "The page asks its broker; the module will ask the page for it through getToken.");
  const first = await brokerJSON(f, "/keyfax/token");
  f.lifetime("Keyfax JWT", first.expiresAt, "(24 h; the module renews it ahead of expiry)");
  s.done(`JWT for host ${first.hostName}, ${duration(Date.parse(first.expiresAt) - Date.now())} left.`);

  let handed = false;
  const kf = api.keyfax.client({
    baseUrl: kc.baseUrl,
    hostName: kc.hostName,
    fetch: f.apisignFetch,
    getToken: async ({ signal, refused }) => {
      if (!handed) {
        handed = true;
        f.current?.note("The module called getToken(): the page handed it the JWT from step 1.");
        return first;
      }
      f.current?.note(refused
        ? "Keyfax refused the JWT: the module called getToken({ refused }), the page asks the broker for a fresh one."
        : "The module called getToken() again (the JWT is near its expiry): the page asks the broker for a fresh one.");
      return brokerJSON(f, "/keyfax/token", { signal });
    },
  });
  try {
    s = f.step("2. Start a session (POST /api/v1/startup)");
    const returnUrl = new URL("?keyfax-return=1", location.href).href;
    const start = await kf.startup({
      mode: { value: "RD" },
      userName: { value: "demo" },
      company: { value: "Sandbox_Dev" },
      originatingSystem: { value: "apisign demo" },
      propertyId: { value: "P-1001" },
      returnUrl: { value: returnUrl },
    });
    s.done(`Session ${start.guid} for company ${start.company}; launch URL ${start.launchUrl}.`);

    // Launch and poll together, as an embedding page does: results answer 202
    // while the interview runs and 200 once it has ended.
    const stop = new AbortController();
    const launchStep = f.step("3. Launch the interview in a frame", "Answer the questions in the frame above and press Complete (or Cancel).");
    const pollStep = f.step("4. Poll for results (POST /api/v1/results)", "202 Accepted while the session runs, 200 with the results when it has ended.");
    f.status("running", "Running: waiting for the interview in the frame…");
    const launched = kf.launch(start, { target: "iframe", container: byTestId("keyfax-frame"), signal: stop.signal })
      .then((r) => {
        launchStep.done(`The frame came back to the return URL: status ${r.params.status ?? "?"} (1 completed, 2 cancelled).`);
        return r;
      });
    // Bounded: an interview left open for ten minutes ends the wait (E_ABORTED).
    const polled = kf.waitForResults(start, { intervalMs: 1000, maxIntervalMs: 2000, timeoutMs: 600_000, signal: stop.signal });
    let results;
    try {
      [, results] = await Promise.all([launched, polled]);
    } catch (e) {
      stop.abort();
      throw e;
    }
    // Keyfax's results (its document's example): KeyfaxData.Call with the
    // call text, the tenant's details and a Repair list; Status 1 completed, 2 cancelled.
    const data = results.data?.KeyfaxData ?? {};
    const call = data.Call ?? {};
    const repair = [].concat(call.Repair ?? [])[0];
    pollStep.done(repair ? `Results: ${call.CallText}` : `Results: session ${data.Status === "2" ? "cancelled" : "ended"}.`);
    const rows = [["session", data.GUID ?? start.guid], ["status", { 1: "completed", 2: "cancelled" }[data.Status] ?? String(data.Status)]];
    if (call.CallText) rows.push(["call", call.CallText]);
    if (call.AdditionalInfo) rows.push(["details", call.AdditionalInfo]);
    if (repair) {
      rows.push(["repair", `${repair.RepairCode}: ${repair.RepairCodeDesc}`],
        ["priority", `${PRIORITIES[repair.Priority] ?? repair.Priority} (within ${repair.ResponseDays} days)`]);
    }
    facts(f.resultEl, rows);

    s = f.step("5. Renew the JWT (POST /api/v1/token with the current one)");
    const renewed = await kf.renew();
    f.lifetime("Keyfax JWT (renewed)", renewed.expiresAt);
    s.done(`New JWT, ${duration(Date.parse(renewed.expiresAt) - Date.now())} left. The module keeps it for its next calls; the page stores no copy (the log shows it only as sent and answered).`);
  } finally {
    kf.close();
  }
}

// ---- NFON

async function nfonFlow(f) {
  const nc = api.nfon.client({ brokerUrl: settings.brokerUrl, callerToken, fetch: f.apisignFetch });
  f.lifetime("No NFON credential in this page; broker caller token", caller.expiresAt || Date.now());
  try {
    const path = settings.nfon.samplePath;
    let s = f.step(`1. List the phone book (GET ${path})`);
    const list = await nc.request("GET", path);
    s.done(`${plural(list.data.total, "entry", "entries")}.`);

    s = f.step(`2. Add an entry (POST ${path})`, "Content-MD5 and Content-Type are part of what the broker signs for a POST.");
    const name = `apisign demo ${new Date().toISOString().slice(11, 19)}`;
    const created = await nc.request("POST", path, { data: [{ name: "displayName", value: name }, { name: "displayNumber", value: "+49 (176) 12345678" }] });
    s.done(`Created ${created.data.href}.`);

    s = f.step("3. Search it (a query with spaces)", "The page percent-encodes the query; the broker signs the path and query exactly as sent.");
    const found = await nc.request("GET", `${path}?search=${encodeURIComponent("apisign demo")}`);
    s.done(`${plural(found.data.total, "matching entry", "matching entries")}.`);

    s = f.step("4. Search a phone number (query { search: \"+49\" })", "The module encodes the query by NFON's rule: \"+\" as %2B, never a space.");
    const numbers = await nc.request("GET", path, undefined, { query: { search: "+49" } });
    s.done(`${plural(numbers.data.total, "number", "numbers")} starting +49.`);
    facts(f.resultEl, list.data.items.concat(created.data).map((it) => {
      const v = Object.fromEntries(it.data.map((d) => [d.name, d.value]));
      return [v.displayName, v.displayNumber];
    }));
    f.lifetime("No NFON credential in this page; broker caller token", caller.expiresAt);
  } finally {
    nc.close();
  }
}

// ---- Fortis

async function fortisFlow(f) {
  let s = f.step("1. Open a session through the broker (POST /fortis/session)");
  const session = await brokerJSON(f, "/fortis/session", { method: "POST" });
  f.lifetime("Fortis session token", Date.now() + session.expiresIn * 1000, "(idle expiry: every request restarts it)");
  s.done(`Session token, idle expiry ${session.expiresIn / 60} min, developer id ${session.developerId}.`);

  let handed = false;
  const fc = api.fortis.client({
    baseUrl: settings.fortis.baseUrl,
    fetch: f.apisignFetch,
    getToken: async ({ signal }) => {
      if (!handed) {
        handed = true;
        f.current?.note("The module called getToken(): the page handed it the session from step 1.");
        return session;
      }
      f.current?.note("The module called getToken() again: the page opens a new session through the broker.");
      return brokerJSON(f, "/fortis/session", { method: "POST", signal });
    },
    closeToken: async (token, { signal }) => {
      await brokerJSON(f, `/fortis/session/${encodeURIComponent(token)}`, { method: "DELETE", signal });
    },
  });
  let closed = false;
  try {
    const path = settings.fortis.samplePath;
    s = f.step(`2. List transactions (GET ${path}), straight to Fortis`);
    const r = await fc.request("GET", path);
    f.lifetime("Fortis session token", Date.now() + session.expiresIn * 1000, "(restarted by this request)");
    s.done(`${r.data.list.length} transactions, authenticated by ${r.data.meta?.authenticatedBy ?? "?"}.`);
    facts(f.resultEl, r.data.list.map((t) => [t.description, `${(t.transaction_amount / 100).toFixed(2)} (${t.payment_method})`]));

    s = f.step("3. Close the session (the module calls closeToken, the page asks the broker)");
    closed = true;
    await fc.close();
    f.lifetime("Fortis session token", null, "closed");
    s.done("Session closed at Fortis.");
  } finally {
    if (!closed) fc.close().catch(() => {});
  }
}

// ---- Fortis single sign-on

async function fortisSsoFlow(f) {
  const box = byTestId("fortis-frame");
  const s = f.step("1. Ask the broker for a one-time sign-in link and open it in a frame (api.fortis.sso)",
    "The broker opens a Fortis session for the one call, asks POST /v2/contactsso, and closes the session; the page gets only the link.");
  const done = api.fortis.sso({
    brokerUrl: settings.brokerUrl,
    callerToken,
    fetch: f.apisignFetch,
    fields: { contact_id: "11e95f8ec39de8fbdb0a4f1a" },
    container: box,
  });
  // The page's own control: removing the frame ends the sign-on.
  const close = el("button", { type: "button", "data-testid": "close-fortis-sso", class: "close" }, "Close the Fortis frame");
  close.addEventListener("click", () => {
    box.querySelector('iframe[data-apisign="fortis"]')?.remove();
    close.remove();
  });
  box.before(close);
  try {
    const r = await done;
    s.done(r.closed ? "The frame was closed: the link is used up (it signs in once)." : `Back at ${r.url}.`);
  } finally {
    close.remove();
  }
}

// ---- Ansira

async function ansiraFlow(f) {
  let s = f.step("1. Get an access token through the broker (POST /ansira/token)");
  const tok = await brokerJSON(f, "/ansira/token", { method: "POST" });
  f.lifetime("Ansira access token", Date.now() + tok.expires_in * 1000);
  s.done(`${tok.token_type} token, scope ${tok.scope}, ${duration(tok.expires_in * 1000)} left.`);

  let last = null; // the token handed to the module last
  const ac = api.ansira.client({
    baseUrl: settings.ansira.apiBaseUrl,
    fetch: f.apisignFetch,
    getToken: async ({ signal, refused }) => {
      if (!last) {
        f.current?.note("The module called getToken(): the page handed it the token from step 1.");
        return (last = tok);
      }
      if (!refused) {
        f.current?.note("The module called getToken() again (the token is near its expiry): the page asks the broker for a new one.");
        return (last = await brokerJSON(f, "/ansira/token", { method: "POST", signal }));
      }
      // The broker caches its token: after a refusal the page names the
      // refused one, so that the broker drops it instead of handing it back.
      f.current?.note("Ansira refused the token: the page asks the broker for a new one, naming the refused one.");
      return (last = await brokerJSON(f, "/ansira/token", {
        method: "POST",
        signal,
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ invalidate: last.access_token }),
      }));
    },
  });
  try {
    const path = settings.ansira.samplePath;
    s = f.step(`2. List campaigns (GET ${path}), straight to Ansira`);
    const r = await ac.request("GET", path);
    s.done(`${r.data.meta?.total ?? r.data.data.length} campaigns.`);
    facts(f.resultEl, r.data.data.map((c) => [c.name, `${c.status}, ${c.channel}`]));
  } finally {
    ac.close();
  }
}

// ---- Ansira paging

async function ansiraPagesFlow(f) {
  let s = f.step("1. Get an access token through the broker (POST /ansira/token)");
  const tok = await brokerJSON(f, "/ansira/token", { method: "POST" });
  s.done(`${duration(tok.expires_in * 1000)} left.`);
  let handed = false;
  const ac = api.ansira.client({
    baseUrl: settings.ansira.apiBaseUrl,
    environment: "stage",
    fetch: f.apisignFetch,
    getToken: async ({ signal, refused }) => {
      if (!handed) return (handed = true), tok;
      return brokerJSON(f, "/ansira/token", { method: "POST", signal, headers: { "Content-Type": "application/json" }, body: JSON.stringify(refused ? { invalidate: refused } : {}) });
    },
  });
  const rows = [];
  try {
    const options = { filter: "status eq 'active'", orderBy: ["-budget"], pageSize: 2 };
    for await (const p of ac.pages(settings.ansira.samplePath, options)) {
      f.step(`${p.page + 1}. Page ${p.page}`).done(`${plural(p.records.length, "campaign", "campaigns")}${p.records.length < options.pageSize ? ": a short page, the last" : ""}.`);
      rows.push(...p.records.map((c) => [c.name, `budget ${c.budget}, page ${p.page}`]));
    }
    facts(f.resultEl, rows);
  } finally {
    ac.close();
  }
}

// ---- Fonn

async function fonnFlow(f) {
  const fc = api.fonn.client({ brokerUrl: settings.brokerUrl, callerToken, impersonatedUserExternalId: "site-manager-42", fetch: f.apisignFetch });
  f.lifetime("No Fonn credential in this page; broker caller token", caller.expiresAt || Date.now());
  try {
    const path = settings.fonn.samplePath;
    let s = f.step(`1. List projects (GET ${path})`);
    const list = await fc.request("GET", path);
    s.done(`${list.data.totalCount} projects, seen as user ${list.data.impersonatedUserExternalId || "(none)"}.`);

    const id = list.data.items[0].id;
    s = f.step(`2. Read one project (GET ${path}/${id})`);
    const one = await fc.request("GET", `${path}/${encodeURIComponent(id)}`);
    s.done(`${one.data.project.name}: ${one.data.project.status}.`);
    facts(f.resultEl, list.data.items.map((p) => [p.name, `${p.status} (${p.externalId})`]));
    f.lifetime("No Fonn credential in this page; broker caller token", caller.expiresAt);
  } finally {
    fc.close();
  }
}

// ---- Keyfax in XML

async function keyfaxXmlFlow(f) {
  const kc = settings.keyfax;
  const kf = api.keyfax.client({
    baseUrl: kc.baseUrl,
    hostName: kc.hostName,
    format: "xml",
    fetch: f.apisignFetch,
    getToken: ({ signal }) => brokerJSON(f, "/keyfax/token", { signal }),
  });
  try {
    let s = f.step("1. Example start-up data in XML (GET /api/v1/startup, Accept: application/xml)");
    const example = await kf.exampleStartup();
    const doc = new DOMParser().parseFromString(example.data, "application/xml");
    const members = [...doc.documentElement.children];
    s.done(`<${doc.documentElement.nodeName}> with ${plural(members.length, "member", "members")}, parsed by the page.`);
    facts(f.resultEl, members.filter((m) => m.querySelector("value")?.textContent).map((m) => [m.nodeName, m.querySelector("value").textContent]));

    s = f.step("2. Post it back as XML (POST /api/v1/startup, Content-Type: application/xml)");
    const launch = await kf.startup(example.data);
    s.done(`Session ${launch.guid} for ${launch.company}: the module read the launch data from the XML answer.`);

    s = f.step("3. Renew the JWT, answered in XML (POST /api/v1/token)");
    const { expiresAt } = await kf.renew();
    s.done(`New JWT, ${duration(Date.parse(expiresAt) - Date.now())} left.`);
  } finally {
    kf.close();
  }
}

// ---- bad tokens

/** A JWT with one character of its signature changed: Keyfax did not sign it. */
function tamper(jwt) {
  const parts = jwt.split(".");
  const sig = parts[2] ?? "";
  const i = Math.min(4, sig.length - 1);
  parts[2] = sig.slice(0, i) + (sig[i] === "A" ? "B" : "A") + sig.slice(i + 1);
  return parts.join(".");
}

async function badKeyfax(f) {
  let s = f.step("1. Get a genuine JWT from the broker, then alter its signature");
  const real = await brokerJSON(f, "/keyfax/token");
  const forged = { ...real, token: tamper(real.token) };
  s.done("The page will hand the module a JWT whose signature does not match.");
  const kf = api.keyfax.client({
    baseUrl: settings.keyfax.baseUrl,
    hostName: settings.keyfax.hostName,
    fetch: f.apisignFetch,
    getToken: async ({ refused }) => {
      if (refused) f.current?.note("Keyfax refused the JWT: the module called getToken({ refused }); the page hands it the same bad JWT.");
      return forged;
    },
  });
  try {
    f.step("2. Start a session with it", "Keyfax answers 401; the module asks getToken once more, gets the same bad JWT, and reports the refusal (E_TOKEN_REFUSED).");
    await kf.startup({ mode: { value: "RD" }, company: { value: "Sandbox_Dev" } });
  } finally {
    kf.close();
  }
}

async function badCaller(f) {
  f.step("1. Call the broker with a caller token the site did not mint", "Its expiry is fine, its MAC is not: the broker refuses it before doing anything.");
  const forged = `${Math.floor(Date.now() / 1000) + 300}.${"A".repeat(43)}`;
  const nc = api.nfon.client({ brokerUrl: settings.brokerUrl, callerToken: forged, fetch: f.apisignFetch });
  try {
    await nc.request("GET", settings.nfon.samplePath);
  } finally {
    nc.close();
  }
}

// ---- start

/** Loads the site's settings, a caller token and the module: the page's set-up. */
async function loadAll() {
  const step = setup.step("Load settings, caller token and module");
  settings = await getJSON(siteFetch, "/site/config");
  await callerToken();
  const t0 = performance.now();
  api = await load();
  loadMs = Math.round(performance.now() - t0);
  step.done(`Module apisign ${api.version} loaded in ${loadMs} ms.`);
  showSetup();
}

/**
 * Every flow's Run button and live status, written once: index.html marks
 * their place with <div class="controls" data-flow="name">, the button's
 * accessible name in data-label (its text is then "Run") or, without one, its
 * text inside the div.
 */
function fillControls(box) {
  const name = box.dataset.flow;
  const label = box.dataset.label;
  box.replaceChildren(
    el("button", { type: "button", id: `run-${name}`, "data-testid": `run-${name}`, "aria-label": label }, label ? "Run" : box.textContent.trim()),
    el("span", { class: "status", "data-testid": `status-${name}`, "data-state": "idle", role: "status", "aria-atomic": "true" }, "Idle"),
  );
}

const flowButtons = () => document.querySelectorAll("section.flow button");
const retry = byTestId("retry-setup");

/**
 * start runs the set-up; the flows' buttons work once it succeeded. A failed
 * set-up (the site's settings, the caller token or the module did not load)
 * offers a retry instead of a reload.
 */
async function start(trigger) {
  flowButtons().forEach((b) => (b.disabled = true));
  const ok = await setup.run(loadAll, trigger);
  retry.hidden = ok;
  if (!ok) return;
  flowButtons().forEach((b) => (b.disabled = false));
  setup.status("done", "Ready: pick a flow and press Run.");
  if (trigger) byTestId("run-keyfax").focus(); // the retry button is hidden now
}

if (new URLSearchParams(location.search).has("keyfax-return")) {
  // This page is Keyfax's return URL, loaded in the launch frame: the module
  // sees the frame arrive here and removes it.
  document.body.replaceChildren(el("p", { class: "returned" }, "Keyfax session ended: back in the demo."));
} else {
  document.querySelectorAll(".controls[data-flow]").forEach(fillControls);
  const flows = {
    keyfax: keyfaxFlow, nfon: nfonFlow, fortis: fortisFlow, ansira: ansiraFlow, fonn: fonnFlow,
    "keyfax-xml": keyfaxXmlFlow, "fortis-sso": fortisSsoFlow, "ansira-pages": ansiraPagesFlow,
  };
  for (const [name, body] of Object.entries(flows)) {
    const f = new Flow(name);
    const b = byTestId(`run-${name}`);
    b.addEventListener("click", () => f.run(body, b));
  }
  for (const [name, body] of [["bad-keyfax", badKeyfax], ["bad-caller", badCaller]]) {
    const f = new Flow(name, { expectRefusal: true });
    const b = byTestId(`run-${name}`);
    b.addEventListener("click", () => f.run(body, b));
  }
  retry.addEventListener("click", () => start(retry));
  start();
}
