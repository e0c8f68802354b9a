#!/usr/bin/env node
// complaint.mjs: a customer's complaint through ccgateway in a real browser.
//
//   node complaint.mjs --url https://127.0.0.1:PORT --ca CA.pem [--cert CERT.pem]
//                      --screenshot-dir DIR [--chromium /usr/bin/chromium]
//
// Opens the form in zh-CN, checks that its labels are Chinese, files a
// complaint as 王芳 with a description that carries a script, reads the
// reference on the confirmation page, follows the private status link,
// checks the state and that the description is shown as text (no dialog,
// no script element), switches to English, and saves screenshots of the
// form, the confirmation and the status page at a phone's and a desktop's
// width. Prints one JSON line with what it found; exits 1 when a check
// fails, 2 on bad arguments.
//
// Trust: the server's certificate must chain to --ca and name the URL's
// host (checked by Node's TLS before the browser starts), and must be the
// one in --cert when given. Chromium is then told to accept exactly that
// certificate's public key (--ignore-certificate-errors-spki-list), not
// every certificate.

import { X509Certificate, createHash } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import process from 'node:process';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const MOBILE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
const STEP_TIMEOUT_MS = 20000;
const TOTAL_TIMEOUT_MS = 120000;
const HOSTILE = '<script>alert(1)</script>';
const DESCRIPTION = `快递三天还没到，客服电话一直占线。${HOSTILE}\n第二行：请尽快处理。`;
const HAN = /\p{Script=Han}/u;

const found = { ok: false, checks: [], screenshots: [] };

class CheckError extends Error {}

// Record a check; throw when it failed.
function check(cond, what, detail) {
  found.checks.push({ what, ok: Boolean(cond) });
  if (!cond) {
    throw new CheckError(detail === undefined ? what : `${what}: ${JSON.stringify(detail)}`);
  }
}

// Print the JSON line and exit.
function finish(code, error) {
  if (error) {
    found.error = error;
  }
  process.stdout.write(`${JSON.stringify(found)}\n`);
  process.exit(code);
}

function usage(message) {
  process.stderr.write(`complaint.mjs: ${message}\n` +
    'usage: node complaint.mjs --url https://127.0.0.1:PORT --ca CA.pem [--cert CERT.pem] ' +
    '--screenshot-dir DIR [--chromium PATH]\n');
  process.exit(2);
}

// Connect with Node's TLS, verifying the server against the CA only, and
// return the certificate the server presented (DER).
function verifiedPeerCert(url, caPem) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'HEAD', ca: caPem, timeout: STEP_TIMEOUT_MS },
      (res) => {
        const peer = res.socket.getPeerCertificate();
        res.resume();
        if (!peer || !peer.raw) {
          reject(new Error('the server sent no certificate'));
          return;
        }
        resolve(peer.raw);
      });
    req.on('timeout', () => req.destroy(new Error('timed out connecting to the server')));
    req.on('error', reject);
    req.end();
  });
}

// base64(SHA-256(SubjectPublicKeyInfo)) of a certificate: what Chromium's
// --ignore-certificate-errors-spki-list takes.
function spkiHash(cert) {
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

// Save a full-page screenshot at the phone's and the desktop's width.
async function shoot(page, dir, name) {
  for (const [tag, size] of [['mobile', MOBILE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(size);
    const file = path.join(dir, `${name}-${tag}.png`);
    await page.screenshot({ path: file, fullPage: true });
    found.screenshots.push(file);
  }
  await page.setViewportSize(MOBILE);
}

// What a page says about itself: its language and its scripts.
async function pageFacts(page) {
  return page.evaluate(() => ({
    lang: document.documentElement.getAttribute('lang'),
    scripts: document.querySelectorAll('script').length,
    inlineStyles: document.querySelectorAll('[style]').length,
    stylesheetLoaded: Array.from(document.styleSheets).some((s) => {
      try {
        return s.cssRules.length > 0;
      } catch {
        return false;
      }
    }),
  }));
}

async function run(opts) {
  const base = opts.url.replace(/\/+$/, '');
  const caPem = fs.readFileSync(opts.ca);
  const ca = new X509Certificate(caPem);

  const peerDer = await verifiedPeerCert(`${base}/`, caPem);
  const peer = new X509Certificate(peerDer);
  check(peer.checkIssued(ca) && peer.verify(ca.publicKey),
    'the server certificate is signed by the CA');
  if (opts.cert) {
    const given = new X509Certificate(fs.readFileSync(opts.cert));
    check(given.fingerprint256 === peer.fingerprint256,
      'the server presents the certificate given with --cert');
  }
  const spki = spkiHash(peer);
  found.spki_sha256 = spki;
  found.description_typed = DESCRIPTION;

  fs.mkdirSync(opts['screenshot-dir'], { recursive: true });
  const browser = await chromium.launch({
    executablePath: opts.chromium,
    headless: true,
    args: [`--ignore-certificate-errors-spki-list=${spki}`, '--disable-gpu',
      '--disable-dev-shm-usage', '--no-first-run'],
    timeout: STEP_TIMEOUT_MS * 3,
  });
  try {
    const context = await browser.newContext({
      viewport: MOBILE,
      locale: 'zh-CN',
      javaScriptEnabled: true, // to notice a script that should never run
    });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);
    const page = await context.newPage();
    const dialogs = [];
    const problems = [];
    page.on('dialog', async (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      await d.dismiss();
    });
    // a refused inline script or style shows up as a console error; a
    // missing favicon would too, so only CSP refusals count
    const consoleErrors = [];
    page.on('console', (m) => {
      if (m.type() === 'error') {
        consoleErrors.push(m.text());
        if (/Content Security Policy|Refused to/i.test(m.text())) {
          problems.push(m.text());
        }
      }
    });
    page.on('pageerror', (e) => problems.push(String(e)));

    // the form, in zh-CN by default
    const formResp = await page.goto(`${base}/`);
    check(formResp && formResp.status() === 200, 'the form answers 200',
      formResp && formResp.status());
    found.csp = formResp.headers()['content-security-policy'] || null;
    check(found.csp && !/unsafe-inline/.test(found.csp), 'a CSP without unsafe-inline', found.csp);
    let facts = await pageFacts(page);
    check(facts.lang === 'zh-CN', 'the form is in zh-CN', facts.lang);
    check(facts.stylesheetLoaded, 'the stylesheet loaded');
    const labels = {};
    for (const field of ['name', 'phone', 'email', 'order', 'category', 'description',
      'resolution', 'urgency']) {
      labels[field] = (await page.locator(`label[for="${field}"]`).innerText()).trim();
      check(HAN.test(labels[field]), `the label of ${field} is Chinese`, labels[field]);
    }
    found.labels_zh = labels;
    check(labels.name.startsWith('姓名'), 'the name label says 姓名', labels.name);
    const honeypot = await page.locator('#website').boundingBox();
    check(honeypot && honeypot.x + honeypot.width <= 0, 'the honeypot field is off screen',
      honeypot);
    check(await page.locator('#website').getAttribute('tabindex') === '-1',
      'the honeypot field is out of the tab order');
    await shoot(page, opts['screenshot-dir'], 'form');

    // fill it in and send it
    await page.locator('#name').fill('王芳');
    await page.locator('#phone').fill('138 0013 8000');
    await page.locator('#order').fill('SO-1001');
    await page.locator('#category').selectOption('delivery');
    await page.locator('#description').fill(DESCRIPTION);
    await page.locator('#resolution').selectOption('refund');
    await page.locator('#urgency').selectOption('high');
    await Promise.all([
      page.waitForURL((u) => u.pathname !== '/', { waitUntil: 'load' }),
      page.locator('button[type="submit"]').click(),
    ]);
    await page.waitForLoadState('load');

    // the confirmation: the reference and the status link
    facts = await pageFacts(page);
    const refEl = page.locator('#ref');
    check(await refEl.count() === 1, 'the confirmation shows a reference',
      (await page.locator('h1').allInnerTexts()).join(' | '));
    found.ref = (await refEl.innerText()).trim();
    check(/^T[0-9]{6}-[0-9A-Z]{4,}$/.test(found.ref), 'the reference looks like T261123-ABC123',
      found.ref);
    found.confirm_title = (await page.locator('h1').innerText()).trim();
    check(HAN.test(found.confirm_title), 'the confirmation is in Chinese', found.confirm_title);
    const statusHref = await page.locator('#status-link').getAttribute('href');
    check(statusHref && statusHref.startsWith(`/status/${encodeURIComponent(found.ref)}?token=`),
      'the status link names the reference and a token', statusHref);
    await shoot(page, opts['screenshot-dir'], 'confirm');

    // the status page
    await Promise.all([page.waitForURL(/\/status\//), page.locator('#status-link').click()]);
    await page.waitForLoadState('load');
    facts = await pageFacts(page);
    check(facts.lang === 'zh-CN', 'the status page is in zh-CN', facts.lang);
    check(facts.scripts === 0, 'no script element on the status page', facts.scripts);
    check(facts.inlineStyles === 0, 'no inline style on the status page', facts.inlineStyles);
    found.state = await page.locator('#state').getAttribute('data-state');
    found.state_text_zh = (await page.locator('#state').innerText()).trim();
    check(['new', 'queued', 'offered', 'in_progress'].includes(found.state),
      'a new complaint is waiting or being handled', found.state);
    check(HAN.test(found.state_text_zh), 'the state is said in Chinese', found.state_text_zh);
    check((await page.locator('#ref').innerText()).trim() === found.ref,
      'the status page shows the same reference');
    const shown = page.locator('.ev-customer .text');
    check(await shown.count() === 1, 'the description is in the timeline once',
      await shown.count());
    found.description_shown = await shown.innerText();
    check(found.description_shown.includes(HOSTILE),
      'the script in the description is shown as text', found.description_shown);
    check(found.description_shown.includes('\n第二行'), 'the line break is kept',
      found.description_shown);
    check(await page.locator('#csat').count() === 1, 'the satisfaction part is there');
    check(await page.locator('input[name="score"]').count() === 0,
      'no rating form before the complaint is resolved');
    await shoot(page, opts['screenshot-dir'], 'status');

    // English
    await Promise.all([page.waitForURL(/lang=en/), page.locator('nav.lang a[lang="en"]').click()]);
    await page.waitForLoadState('load');
    facts = await pageFacts(page);
    check(facts.lang === 'en', 'the switch gives English', facts.lang);
    check(new URL(page.url()).searchParams.get('token'), 'the switch keeps the token', page.url());
    found.state_text_en = (await page.locator('#state').innerText()).trim();
    check(/^[\x20-\x7e]+$/.test(found.state_text_en), 'the state is said in English',
      found.state_text_en);
    found.title_en = (await page.locator('h1').innerText()).trim();
    check((await page.locator('.ev-customer .text').innerText()).includes(HOSTILE),
      'the description is still text in English');
    await shoot(page, opts['screenshot-dir'], 'status-en');

    found.dialogs = dialogs;
    found.console_errors = consoleErrors;
    check(dialogs.length === 0, 'no dialog opened', dialogs);
    check(problems.length === 0, 'no CSP violation and no page error', problems);
    await context.close();
  } finally {
    await browser.close();
  }
  found.ok = true;
}

let opts;
try {
  opts = parseArgs({
    options: {
      url: { type: 'string' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      'screenshot-dir': { type: 'string' },
      chromium: { type: 'string', default: '/usr/bin/chromium' },
    },
    strict: true,
  }).values;
} catch (e) {
  usage(e.message);
}
if (!opts.url || !/^https:\/\//.test(opts.url)) {
  usage('--url https://HOST:PORT is required');
}
if (!opts.ca) {
  usage('--ca is required');
}
if (!opts['screenshot-dir']) {
  usage('--screenshot-dir is required');
}

const timer = setTimeout(() => finish(1, `gave up after ${TOTAL_TIMEOUT_MS} ms`),
  TOTAL_TIMEOUT_MS);
try {
  await run(opts);
  clearTimeout(timer);
  finish(0);
} catch (e) {
  clearTimeout(timer);
  finish(1, e instanceof CheckError ? e.message : String(e && e.stack ? e.stack : e));
}
