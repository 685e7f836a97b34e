// chromium.mjs: the benchmarks that run in a Chromium page (headless, through
// playwright-core), against the dev server that bench/run.mjs started with the
// bench pages beside the module:
//
//   node bench/chromium.mjs ORIGIN [sign] [startup] [flow]
//
// Prints one JSON object on its last line.

import { chromium } from "playwright-core";
import { median } from "./lib.mjs";

const [origin, ...wanted] = process.argv.slice(2);
if (!origin) {
  console.error("usage: node bench/chromium.mjs ORIGIN [sign] [startup] [flow]");
  process.exit(2);
}
const parts = new Set(wanted.length ? wanted : ["sign", "startup", "flow"]);

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
    // A fresh context per run: an empty HTTP cache, so no cached compiled
    // module (the dev server also sends Cache-Control: no-store).
    const runs = [];
    const nav = [];
    for (let i = 0; i < 20; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(origin + "/bench/startup.html");
      const s = await page.waitForFunction(() => window.startup, null, { timeout: 30000 }).then((h) => h.jsonValue());
      runs.push(s.loadMs);
      nav.push(s.sinceNavMs);
      await ctx.close();
    }
    out.startup = { ms: median(runs), sinceNavMs: median(nav), min: Math.min(...runs), max: Math.max(...runs), runs: runs.length };
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
