#!/usr/bin/env node
// chart.mjs: the SVG charts of `ccagent report --chart` in a real browser.
//
//   node chart.mjs --chart FILE.svg [--chart ...] --screenshot-dir DIR
//                  [--width 960 --height 420] [--expect TEXT ...]
//                  [--chromium /usr/bin/chromium]
//
// Opens each file in headless Chromium as a document of its own (file://),
// and checks that it rendered: the document is an SVG one with no XML
// parse error, its root has the expected size, every --expect text is the
// whole text of one of its <text> elements, every <text> lies inside the
// chart as laid out (none cut off at an edge), nothing in it can run (no
// script element, no on* attribute, no link, no foreign object; no dialog
// and no page error while it is shown). It saves a screenshot of the chart
// (DIR/<name>.png) and counts, in that picture as Chromium painted it, the
// pixels that are not the white background and those of each series'
// colour. Each chart gets its own checks; a failed check does not stop the
// others. Prints one JSON line ({ok, charts: [{file, ok, checks, ...}]})
// and exits 1 when a check failed, 2 on bad arguments.

import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const STEP_TIMEOUT_MS = 20000;
const TOTAL_TIMEOUT_MS = 100000;
// the series as report.c draws them
const SERIES = {
  offered: [0x4e, 0x79, 0xa7],
  answered: [0x59, 0xa1, 0x4f],
  abandoned: [0xe1, 0x57, 0x59],
  service_level: [0xf2, 0x8e, 0x2b],
};
// what a chart may be made of
const ELEMENTS = new Set(['svg', 'title', 'rect', 'line', 'polyline', 'text']);

const found = { ok: false, charts: [] };

function usage(message) {
  process.stderr.write(`chart.mjs: ${message}\n` +
    'usage: node chart.mjs --chart FILE.svg [--chart ...] --screenshot-dir DIR ' +
    '[--width W --height H] [--expect TEXT ...] [--chromium PATH]\n');
  process.exit(2);
}

function finish(code, error) {
  if (error) {
    found.error = error;
  }
  process.stdout.write(`${JSON.stringify(found)}\n`);
  process.exit(code);
}

// What the document holds, read in the page.
function readDocument() {
  const root = document.documentElement;
  const all = Array.from(document.getElementsByTagNameNS('*', '*'));
  const attrs = [];
  for (const el of all) {
    for (const a of Array.from(el.attributes)) {
      attrs.push(a.name.toLowerCase());
    }
  }
  const box = root.getBoundingClientRect();
  return {
    contentType: document.contentType,
    rootName: root.localName,
    rootNs: root.namespaceURI,
    parseErrors: document.getElementsByTagNameNS('*', 'parsererror').length,
    width: root.getAttribute('width'),
    height: root.getAttribute('height'),
    viewBox: root.getAttribute('viewBox'),
    box: { width: box.width, height: box.height },
    elements: Array.from(new Set(all.map((el) => el.localName))).sort(),
    foreignNs: all.filter((el) => el.namespaceURI !== 'http://www.w3.org/2000/svg').length,
    scripts: document.getElementsByTagNameNS('*', 'script').length,
    handlers: attrs.filter((a) => a.startsWith('on')),
    links: attrs.filter((a) => a === 'href' || a.endsWith(':href')),
    texts: Array.from(root.getElementsByTagNameNS('*', 'text')).map((t) => t.textContent),
    // each text's box as painted (turned ones too), from the root's corner
    outside: Array.from(root.getElementsByTagNameNS('*', 'text')).map((t) => {
      const r = t.getBoundingClientRect();
      return {
        text: t.textContent, left: r.left - box.left, top: r.top - box.top,
        right: r.right - box.left, bottom: r.bottom - box.top,
      };
    }).filter((r) => r.left < -0.5 || r.top < -0.5 || r.right > box.width + 0.5
      || r.bottom > box.height + 0.5),
    title: (root.getElementsByTagNameNS('*', 'title')[0] || {}).textContent || null,
    rects: Array.from(root.getElementsByTagNameNS('*', 'rect'))
      .map((r) => ({ fill: r.getAttribute('fill'), h: Number(r.getAttribute('height')) })),
    polylines: Array.from(root.getElementsByTagNameNS('*', 'polyline'))
      .map((p) => p.getAttribute('points').trim().split(/\s+/).length),
  };
}

// Decode a PNG in the page and count its pixels: those not white, and
// those within a small distance of each series' colour.
async function countPixels({ b64, series }) {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext('2d');
  g.drawImage(bitmap, 0, 0);
  const px = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const counts = { width: bitmap.width, height: bitmap.height, not_background: 0 };
  for (const name of Object.keys(series)) {
    counts[name] = 0;
  }
  for (let i = 0; i < px.length; i += 4) {
    const [r, gr, b] = [px[i], px[i + 1], px[i + 2]];
    if (r < 250 || gr < 250 || b < 250) {
      counts.not_background++;
    }
    for (const [name, [sr, sg, sb]] of Object.entries(series)) {
      if (Math.abs(r - sr) <= 3 && Math.abs(gr - sg) <= 3 && Math.abs(b - sb) <= 3) {
        counts[name]++;
      }
    }
  }
  return counts;
}

async function oneChart(context, file, opts) {
  const result = { file, ok: true, checks: [] };
  const check = (cond, what, detail) => {
    result.checks.push(detail === undefined || cond ? { what, ok: Boolean(cond) }
      : { what, ok: false, detail });
    if (!cond) {
      result.ok = false;
    }
  };
  found.charts.push(result);
  const page = await context.newPage();
  const dialogs = [];
  const problems = [];
  page.on('dialog', async (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') {
      problems.push(m.text());
    }
  });
  try {
    const resp = await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: 'load' });
    check(resp !== null && resp.ok(), 'the file loads');
    const doc = await page.evaluate(readDocument);
    Object.assign(result, {
      content_type: doc.contentType, root: doc.rootName, size: [doc.width, doc.height],
      box: doc.box, elements: doc.elements, texts: doc.texts, title: doc.title,
      rects: doc.rects.length, polyline_points: doc.polylines,
      // lone service level points, drawn as squares of the line's colour
      sl_markers: doc.rects.filter((r) => r.fill === '#f28e2b').length,
    });
    check(doc.contentType === 'image/svg+xml', 'read as an SVG document', doc.contentType);
    check(doc.parseErrors === 0, 'no XML parse error', doc.parseErrors);
    check(doc.rootName === 'svg' && doc.rootNs === 'http://www.w3.org/2000/svg',
      'the root is an SVG element', `${doc.rootNs} ${doc.rootName}`);
    check(doc.width === String(opts.width) && doc.height === String(opts.height),
      `the root is ${opts.width}x${opts.height}`, [doc.width, doc.height]);
    check(doc.viewBox === `0 0 ${opts.width} ${opts.height}`, 'the view box matches',
      doc.viewBox);
    check(Math.round(doc.box.width) === opts.width && Math.round(doc.box.height) === opts.height,
      'laid out at that size', doc.box);
    check(doc.scripts === 0, 'no script element', doc.scripts);
    check(doc.handlers.length === 0, 'no event handler attribute', doc.handlers);
    check(doc.links.length === 0, 'no link', doc.links);
    check(doc.foreignNs === 0, 'no element from another namespace', doc.foreignNs);
    const strange = doc.elements.filter((e) => !ELEMENTS.has(e));
    check(strange.length === 0, 'only the elements a chart is made of', strange);
    result.texts_outside = doc.outside;
    check(doc.outside.length === 0, 'every text inside the chart', doc.outside);
    for (const want of opts.expect) {
      check(doc.texts.includes(want), `the text ${JSON.stringify(want)} is shown`, doc.texts);
    }

    // the picture: the chart element alone, at its own size
    fs.mkdirSync(opts['screenshot-dir'], { recursive: true });
    const shot = path.join(opts['screenshot-dir'],
      `${path.basename(file).replace(/\.svg$/i, '')}.png`);
    const png = await page.locator(':root').screenshot({ path: shot });
    result.screenshot = shot;
    const counts = await page.evaluate(countPixels, { b64: png.toString('base64'), series: SERIES })
      .catch(async () => {
        // an SVG document has no canvas of its own to lend: decode on a blank page
        const blank = await context.newPage();
        try {
          return await blank.evaluate(countPixels, { b64: png.toString('base64'), series: SERIES });
        } finally {
          await blank.close();
        }
      });
    result.pixels = counts;
    check(counts.width === opts.width && counts.height === opts.height,
      'the screenshot has the chart\'s size', [counts.width, counts.height]);
    check(counts.not_background > counts.width * counts.height / 100,
      'the screenshot is not blank', counts.not_background);
    check(dialogs.length === 0, 'no dialog opened', dialogs);
    check(problems.length === 0, 'no page error', problems);
    result.dialogs = dialogs;
  } catch (e) {
    check(false, 'the chart could be read', String(e && e.stack ? e.stack : e));
  } finally {
    await page.close();
  }
}

async function run(opts) {
  const browser = await chromium.launch({
    executablePath: opts.chromium,
    headless: true,
    args: ['--disable-gpu', '--disable-dev-shm-usage', '--no-first-run',
      '--force-color-profile=srgb'],
    timeout: STEP_TIMEOUT_MS * 3,
  });
  try {
    const context = await browser.newContext({
      viewport: { width: opts.width + 40, height: opts.height + 40 },
      deviceScaleFactor: 1,
      javaScriptEnabled: true, // to notice a script that should never run
    });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    for (const file of opts.chart) {
      await oneChart(context, file, opts);
    }
    await context.close();
  } finally {
    await browser.close();
  }
  found.ok = found.charts.every((c) => c.ok);
}

let opts;
try {
  opts = parseArgs({
    options: {
      chart: { type: 'string', multiple: true, default: [] },
      'screenshot-dir': { type: 'string' },
      width: { type: 'string', default: '960' },
      height: { type: 'string', default: '420' },
      expect: { type: 'string', multiple: true, default: [] },
      chromium: { type: 'string', default: '/usr/bin/chromium' },
    },
    strict: true,
  }).values;
} catch (e) {
  usage(e.message);
}
if (opts.chart.length === 0) {
  usage('--chart is required');
}
if (!opts['screenshot-dir']) {
  usage('--screenshot-dir is required');
}
for (const k of ['width', 'height']) {
  if (!/^[1-9][0-9]{0,4}$/.test(opts[k])) {
    usage(`--${k} takes a number of pixels`);
  }
  opts[k] = Number(opts[k]);
}
for (const f of opts.chart) {
  if (!fs.existsSync(f)) {
    usage(`no such file: ${f}`);
  }
}

const timer = setTimeout(() => finish(1, `gave up after ${TOTAL_TIMEOUT_MS} ms`),
  TOTAL_TIMEOUT_MS);
try {
  await run(opts);
  clearTimeout(timer);
  finish(found.ok ? 0 : 1);
} catch (e) {
  clearTimeout(timer);
  finish(1, String(e && e.stack ? e.stack : e));
}
