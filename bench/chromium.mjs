// chromium.mjs: the benchmarks that run in a Chromium page (headless, through
// playwright-core), against the dev server that bench/run.mjs started with the
// bench pages beside the module:
//
//   node bench/chromium.mjs ORIGIN [sign] [startup] [flow] [demo]
//
// Prints one JSON object on its last line.

import { chromium } from "playwright-core";
import { median } from "./lib.mjs";

const [origin, ...wanted] = process.argv.slice(2);
if (!origin) {
  console.error("usage: node bench/chromium.mjs ORIGIN [sign] [startup] [flow] [demo]");
  process.exit(2);
}
const parts = new Set(wanted.length ? wanted : ["sign", "startup", "flow", "demo"]);

// startupOnce opens path in a new page of ctx and answers the page's own
// figures: { loadMs: start of loading to the first answered call, sinceNavMs }.
async function startupOnce(ctx, path) {
  const page = await ctx.newPage();
  await page.goto(origin + path);
  const s = await page.waitForFunction(() => window.startup, null, { timeout: 30000 }).then((h) => h.jsonValue());
  await page.close();
  return s;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
});
const out = { version: browser.version() };
try {
  if (parts.has("sign") || parts.has("flow")) {
    const page = await browser.newPage();
    page.on("pageerror", (e) => console.error("page error:", e.message));
    await page.goto(origin + "/bench/page.html");
    await page.waitForFunction(() => window.bench !== undefined, null, { timeout: 30000 });
    if (parts.has("sign")) {
      // Batches of >= 5 ms: the page's timer has 100 µs resolution.
      out.sign = await page.evaluate(async () => {
        const api = await bench.load();
        const cases = await bench.lib.signCases({ api, CryptoJS: window.CryptoJS });
        return bench.lib.runSignCases(cases, { minBatchMs: 5, warmupMs: 200 });
      });
    }
    if (parts.has("flow")) {
      out.flow = await page.evaluate(async (o) => bench.keyfaxFlow(await bench.load(), o), origin);
    }
    await page.close();
  }
  if (parts.has("startup")) {
    // Fresh contexts (an empty HTTP cache, no compiled code cached), apisign
    // and the Go floor module in turns, so that a slow spell weighs on both.
    const runs = { apisign: [], floor: [], nav: [] };
    for (let i = 0; i < 20; i++) {
      for (const which of ["apisign", "floor"]) {
        const ctx = await browser.newContext();
        const s = await startupOnce(ctx, which === "apisign" ? "/bench/startup.html" : "/bench/floor.html");
        runs[which].push(s.loadMs);
        if (which === "apisign") runs.nav.push(s.sinceNavMs);
        await ctx.close();
      }
    }
    // Repeat visits: one context, the page loaded again and again; the module
    // comes from the HTTP cache (revalidated: the dev server answers 304) and
    // V8 may reuse its compiled code.
    const repeat = [];
    for (let c = 0; c < 4; c++) {
      const ctx = await browser.newContext();
      await startupOnce(ctx, "/bench/startup.html");
      for (let i = 0; i < 5; i++) repeat.push((await startupOnce(ctx, "/bench/startup.html")).loadMs);
      await ctx.close();
    }
    const stat = (xs) => ({ ms: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs.length });
    out.startup = { ...stat(runs.apisign), sinceNavMs: median(runs.nav), floor: stat(runs.floor), repeat: stat(repeat) };
  }
  if (parts.has("demo")) {
    // The demo page on a fresh context: navigation to its "Ready" status.
    const ready = [];
    for (let i = 0; i < 10; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(origin + "/");
      ready.push(await page.waitForFunction(() => /Ready/.test(document.body.innerText) && performance.now(), null, { timeout: 30000 }).then((h) => h.jsonValue()));
      await ctx.close();
    }
    out.demo = { ms: median(ready), min: Math.min(...ready), max: Math.max(...ready), runs: ready.length };
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
