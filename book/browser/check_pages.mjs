// The book's browser test: every page of the built site, opened in headless Chromium as a reader
// sees it, must show no MathJax error, no raw markdown table or math, no table printed as padded
// text, no bare glued value, no empty output box or injected-parameters cell, no code/output block
// that scrolls sideways at 1280 px, no figure whose text is shown too small, nothing loaded from
// outside the site. One PNG per page and width under _build/browser/.
//
//   node book/browser/check_pages.mjs [SITE=_build/html] [SHOTS=_build/browser]
//
// Exit status 1 when a page fails; every failure is printed as "page: check: detail".
import { chromium } from "playwright-core";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

const SITE = path.resolve(process.argv[2] ?? "_build/html");
const SHOTS = path.resolve(process.argv[3] ?? path.join(SITE, "..", "browser"));
const WIDTHS = [1280, 400]; // the checks run at 1280 px; 400 px (a phone) is screenshotted to look at
// Figure text: matplotlib draws text in points of the figure's size (its dpi is in the PNG's pHYs
// chunk), and rep_utils.plots keeps the default 10 pt, so as shown it is 10 pt x shown/drawn width.
const NOMINAL_PT = 10;
const MIN_PT = 8;
const SKIP = new Set(["index.html", "genindex.html", "search.html", "py-modindex.html"]);
const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png",
  ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".woff": "font/woff", ".woff2": "font/woff2",
  ".json": "application/json", ".ico": "image/x-icon", ".txt": "text/plain" };

function pages(dir, rel = "") {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((d) => {
    const r = path.join(rel, d.name);
    if (d.isDirectory()) return d.name.startsWith("_") ? [] : pages(dir, r);
    return d.name.endsWith(".html") && !SKIP.has(r) ? [r] : [];
  }).sort();
}

function serve(root) {
  const server = http.createServer((req, res) => {
    const file = path.join(root, decodeURIComponent(new URL(req.url, "http://x").pathname));
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

// Runs inside the page: the list of [check, detail] defects a reader would meet.
async function inspect({ nominalPt, minPt }) {
  const main = document.querySelector("main article") ?? document.querySelector("main") ?? document.body;
  const found = [];
  const add = (check, el, detail) => {
    const where = el?.closest?.("section[id]")?.id;
    found.push([check, (where ? `#${where}: ` : "") + detail.replace(/\s+/g, " ").trim().slice(0, 100)]);
  };

  // MathJax: loaded where there is math, no error, nothing left untypeset.
  const maths = [...main.querySelectorAll(".math")];
  if (maths.length && !window.MathJax?.startup) add("mathjax", null, `MathJax not loaded (${maths.length} formulas)`);
  for (const e of main.querySelectorAll("mjx-merror")) {
    add("mathjax", e, `error "${e.getAttribute("data-mjx-error") ?? e.textContent}"`);
  }
  if (window.MathJax?.startup) {
    for (const e of maths) if (!e.querySelector("mjx-container")) add("mathjax", e, `not typeset: ${e.textContent}`);
  }

  // Raw markdown: a pipe-table rule or $math$ in running text (outside code, tables and typeset math).
  const walker = document.createTreeWalker(main, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.parentElement.closest("pre, code, table, mjx-container, script, style, .math")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const blocks = new Map(); // text is matched per block, since one paragraph holds many text nodes
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const block = n.parentElement.closest("p, li, dd, td, div");
    blocks.set(block, (blocks.get(block) ?? "") + n.data);
  }
  for (const [block, text] of blocks) {
    const rule = text.match(/\|\s*:?(?:-{3,}|[—–]+):?\s*\|/);
    if (rule) add("raw table", block, text.slice(Math.max(0, rule.index - 60), rule.index + 20));
    const tex = text.match(/\$[^$\n]*[\\_^{][^$\n]*\$/);
    if (tex) add("raw math", block, tex[0]);
  }

  // Output boxes: a bare value (what a displayed glue or a stray last expression shows), an empty
  // box, papermill's injected-parameters cell.
  const bare = /^(?:-?\d[\d_,]*(?:\.\d+)?(?:e[-+]?\d+)?|'[^'\n]{0,80}'|"[^"\n]{0,80}"|True|False|None|nan|inf|(?:np\.)?\w+\(-?[\d.e+-]+\)|tensor\(.*\))$/i;
  for (const out of main.querySelectorAll(".cell_output > .output")) {
    const text = (out.querySelector("pre") ?? out).innerText.trim(); // pre: not the copy button's label
    if (bare.test(text)) add("bare value", out, text);
    else if (!text && !out.querySelector("img, svg, table, canvas, iframe")) add("empty output", out, "an empty output box");
  }
  // A table printed as padded text (a third style beside the rendered ones): a header of three or
  // more words, then three rows with as many space-aligned columns, holding numbers.
  const number = /^[-+]?[\d.,]+(?:e[-+]?\d+)?%?(?: ± [\d.]+)?$/;
  for (const pre of main.querySelectorAll(".cell_output pre")) {
    const rows = pre.innerText.split("\n").map((l) => l.trim().split(/\s{2,}/));
    const at = rows.findIndex((h, i) => h.length >= 3 && !h.some((f) => number.test(f))
      && [1, 2, 3].every((k) => rows[i + k]?.length === rows[i + 1].length && rows[i + k].some((f) => number.test(f)))
      && Math.abs(rows[i + 1].length - h.length) <= 1); // a header may join two words with one space
    if (at >= 0) add("text table", pre, rows[at].join(" | "));
  }
  for (const c of main.querySelectorAll(".cell.tag_injected-parameters")) add("injected parameters", c, c.textContent);

  // Sideways scrolling: a block that scrolls horizontally, or the page itself wider than the window.
  for (const e of main.querySelectorAll("pre, .pst-scrollable-table-container, .table-wrapper, div.math, mjx-container[display]")) {
    const ox = getComputedStyle(e).overflowX;
    if (e.scrollWidth > e.clientWidth + 1 && (ox === "auto" || ox === "scroll")) {
      const kind = e.closest(".cell_output") ? "output" : e.matches("pre") ? "code" : e.matches("div.math, mjx-container") ? "math" : "table";
      add("horizontal scroll", e, `${kind} ${e.scrollWidth} px in ${e.clientWidth} px: ${e.textContent.split("\n").find((l) => l.trim()) ?? ""}`);
    }
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    add("horizontal scroll", null, `page ${document.documentElement.scrollWidth} px in a ${window.innerWidth} px window`);
  }

  // Figures: the size their 10 pt text is shown at, from the drawn size (PNG pHYs, else 96 dpi).
  for (const img of main.querySelectorAll("img")) {
    if (!img.src.startsWith(location.origin)) continue; // a badge from elsewhere: not a figure
    if (!img.naturalWidth) { add("figure", img, `does not load: ${img.src}`); continue; }
    let dpi = 96;
    if (img.src.endsWith(".png")) {
      const b = new DataView(await (await fetch(img.src)).arrayBuffer());
      for (let i = 8; i + 8 < b.byteLength; i += 12 + b.getUint32(i)) {
        if (b.getUint32(i + 4) === 0x70485973 && b.getUint8(i + 16) === 1) dpi = b.getUint32(i + 8) * 0.0254; // pHYs, per metre
      }
    }
    const scale = img.getBoundingClientRect().width / (img.naturalWidth * 96 / dpi);
    if (nominalPt * scale < minPt) {
      add("figure", img, `text shown at ${(nominalPt * scale).toFixed(1)} pt: drawn ${Math.round(img.naturalWidth * 96 / dpi)} px wide, shown ${Math.round(img.getBoundingClientRect().width)} px`);
    }
  }
  return found;
}

const t0 = Date.now();
const server = await serve(SITE);
const origin = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  // As root in CI: no sandbox; no GPU; nothing reaches out to Google's services on a closed network.
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
});
let failures = 0;
const list = pages(SITE);
const context = await browser.newContext({ viewport: { width: WIDTHS[0], height: 900 }, deviceScaleFactor: 1 });
// The site must work offline: anything not served from the build is refused (and reported below).
await context.route("**/*", (route) => (route.request().url().startsWith(origin) ? route.continue() : route.abort()));
for (const rel of list) {
  const page = await context.newPage();
  const errors = []; // a script, style sheet or font from elsewhere: the page would differ offline
  page.on("requestfailed", (r) => {
    if (!r.url().startsWith(origin) && ["script", "stylesheet", "font"].includes(r.resourceType())) errors.push(["external resource", r.url()]);
  });
  await page.goto(`${origin}/${rel}`, { waitUntil: "load" });
  await page.evaluate(() => window.MathJax?.startup?.promise);
  await page.evaluate(() => document.fonts.ready);
  for (const [check, detail] of [...errors, ...(await page.evaluate(inspect, { nominalPt: NOMINAL_PT, minPt: MIN_PT }))]) {
    console.log(`${rel}: ${check}: ${detail}`);
    failures += 1;
  }
  // The same loaded page is narrowed for the phone shot: MathJax's output reflows, nothing reloads.
  const cdp = await context.newCDPSession(page);
  for (const width of WIDTHS) {
    await page.setViewportSize({ width, height: 900 });
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    const { data } = await cdp.send("Page.captureScreenshot", { format: "png", optimizeForSpeed: true,
      captureBeyondViewport: true, clip: { x: 0, y: 0, width, height, scale: 1 } });
    const shot = path.join(SHOTS, String(width), rel.replace(/\.html$/, ".png"));
    fs.mkdirSync(path.dirname(shot), { recursive: true });
    fs.writeFileSync(shot, Buffer.from(data, "base64"));
  }
  await page.close();
}
await browser.close();
server.close();
console.log(`${list.length} pages, ${failures} defects, screenshots in ${SHOTS} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
process.exit(failures ? 1 : 0);
