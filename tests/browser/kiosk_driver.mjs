// Drives the kiosk screen in headless Debian chromium (playwright-core) for the Python tests:
// one JSON command per stdin line, one JSON answer per stdout line. The camera is Chromium's
// fake device (--use-fake-device-for-media-stream), its permission granted without a prompt
// (--use-fake-ui-for-media-stream), so the page takes real JPEG stills of the test pattern.
//
//   {"op":"open","url":U,"width":W,"height":H}   new page of that size, waits for the state
//                                                ("noCamera":true: a browser without a camera,
//                                                "noSocket":true: its WebSocket never opens)
//   {"op":"keypad","id":"110..."}                taps the on-screen keys
//   {"op":"attach"}                              the page of a browser reached by ROLLCALL_CDP
//   {"op":"key","key":"clear"}                   taps one key (clear, back, 0-9, X)
//   {"op":"card","id":"110..."}                  types the digits and Enter fast (a card reader)
//   {"op":"press","key":"Tab"}                   one key on the keyboard; answers what has focus
//   {"op":"click","action":"signin"}             clicks [data-action=...]; "answer" waits for it
//   {"op":"answer"}                              waits for the answer screen, returns its text
//   {"op":"text","selector":S}                   the text of S
//   {"op":"waitText","selector":S,"contains":T}  waits until S's text contains T
//   {"op":"screenshot","path":P}                 a PNG of the page
//   {"op":"timeSignin","id":I,"action":A}        ms from the click to the answer on screen,
//                                                and the page's marks (ms after the click);
//                                                "readName":true waits for the masked name
//                                                and "thinkMs" more before the click
//   {"op":"timeFetch","n":N}                     N no-op round trips (GET /healthz), ms each
//                                                ("xhr", "ws": by XMLHttpRequest, WebSocket)
//   {"op":"eval","js":"..."}                     evaluates an expression in the page
//   {"op":"quit"}
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.ROLLCALL_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = 30000;

// ROLLCALL_CDP=http://127.0.0.1:PORT: drive a Chromium already running (the kiosk session of
// tests/integration/test_kiosk_session.py, started as KIOSK.md says) over its debugging port;
// "attach" then takes its page instead of "open" making one.
const browser = process.env.ROLLCALL_CDP
  ? await chromium.connectOverCDP(process.env.ROLLCALL_CDP)
  : await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--no-sandbox', // the tests run as root in a container
      '--disable-gpu',
    ],
  });
let context = null;
let page = null;
const consoleErrors = [];

async function open(c) {
  if (context) await context.close();
  context = await browser.newContext({
    viewport: { width: c.width ?? 1080, height: c.height ?? 1920 },
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  if (c.noCamera) {
    // a kiosk whose camera is missing: the page finds no camera API at all
    await context.addInitScript(() => {
      Object.defineProperty(navigator, 'mediaDevices', { value: undefined });
    });
  }
  if (c.noSocket) {
    // a WebSocket that never opens (a proxy or a server that refuses it): the page's calls
    // go by XMLHttpRequest
    await context.addInitScript(() => {
      window.WebSocket = class {
        static OPEN = 1;
        constructor() { this.readyState = 3; setTimeout(() => this.onclose?.({}), 0); }
        send() { throw new Error('not open'); }
        close() {}
      };
    });
  }
  page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(c.url);
  await page.waitForSelector('body[data-ready="true"]');
  // the camera opened (or failed) before the first sign-in
  await page.waitForFunction(() => document.getElementById('camera').readyState >= 2, null,
    { timeout: 10000 }).catch(() => {});
  return { ok: true };
}

async function answerText() {
  await page.waitForSelector('#answer:not([hidden])');
  return page.evaluate(() => {
    const a = document.getElementById('answer');
    return {
      ok: a.dataset.ok === 'true',
      verdict: a.dataset.verdict,
      code: a.dataset.code,
      title: document.getElementById('answer-title').textContent,
      who: document.getElementById('answer-who').textContent,
      when: document.getElementById('answer-when').textContent,
      where: document.getElementById('answer-where').textContent,
      todo: document.getElementById('answer-todo').textContent,
    };
  });
}

// The page of a Chromium reached over CDP, once it is ready (and its camera opened or failed).
async function attach() {
  const deadline = Date.now() + TIMEOUT_MS;
  while (!browser.contexts()[0]?.pages()[0]) {
    if (Date.now() > deadline) throw new Error('no page in the connected browser');
    await new Promise((r) => { setTimeout(r, 100); });
  }
  page = browser.contexts()[0].pages()[0];
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForFunction(() => document.getElementById('camera').readyState >= 2, null,
    { timeout: 10000 }).catch(() => {});
  return { ok: true, url: page.url() };
}

const ops = {
  open,
  attach,
  async keypad(c) {
    for (const ch of c.id) await page.click(`[data-key="${ch}"]`);
    return { ok: true, value: await page.inputValue('input[name="trainee"]') };
  },
  async key(c) {
    await page.click(`[data-key="${c.key}"]`);
    return { ok: true, value: await page.inputValue('input[name="trainee"]') };
  },
  async card(c) {
    // A keyboard-mode card reader: a burst of key presses with no pause, then Enter, while
    // the focus is wherever the page left it.
    await page.keyboard.type(c.id, { delay: 0 });
    await page.keyboard.press('Enter');
    return { ok: true, value: await page.inputValue('input[name="trainee"]') };
  },
  async press(c) {
    await page.keyboard.press(c.key);
    return { ok: true, focused: await page.evaluate(() => document.activeElement?.dataset?.action ?? document.activeElement?.name ?? '') };
  },
  async click(c) {
    await page.click(`[data-action="${c.action}"]`);
    return { ok: true };
  },
  async answer() {
    return { ok: true, answer: await answerText() };
  },
  async text(c) {
    return { ok: true, text: await page.textContent(c.selector) };
  },
  async waitText(c) {
    await page.waitForFunction(([s, t]) => (document.querySelector(s)?.textContent ?? '').includes(t),
      [c.selector, c.contains]);
    return { ok: true, text: await page.textContent(c.selector) };
  },
  async screenshot(c) {
    await page.screenshot({ path: c.path });
    return { ok: true };
  },
  async timeSignin(c) {
    await page.fill('input[name="trainee"]', c.id);
    await page.waitForSelector(`[data-action="${c.action}"]:not([disabled])`);
    if (c.readName) {
      // as a trainee does: the masked roster name is shown, read for thinkMs, then the click
      await page.waitForSelector('#who.found');
      if (c.thinkMs) await page.waitForTimeout(c.thinkMs);
    }
    // ms: to the answer in the page (the page's work done); frame: to the end of the frame
    // that first draws it (its requestAnimationFrame, then a task: style, layout and paint
    // done on the page's thread)
    const { ms, frame } = await page.evaluate((action) => new Promise((resolve) => {
      const a = document.getElementById('answer');
      const t0 = performance.now();
      const obs = new MutationObserver(() => {
        if (!a.hidden) {
          obs.disconnect();
          const t1 = performance.now() - t0;
          requestAnimationFrame(() => setTimeout(() => resolve({
            ms: t1, frame: performance.now() - t0,
          }), 0));
        }
      });
      obs.observe(a, { attributes: true });
      document.querySelector(`[data-action="${action}"]`).click();
    }), c.action);
    const ans = await answerText();
    // the page's own marks (kiosk.js mark()): ms from the click to each
    const marks = await page.evaluate(() => {
      const m = Object.fromEntries(performance.getEntriesByType('mark')
        .map((e) => [e.name.replace(/^rc:/, ''), e.startTime]));
      return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v - (m.click ?? 0)]));
    });
    await page.click('[data-action="done"]');
    return { ok: true, ms, frame, marks, answer: ans };
  },
  async timeFetch(c) {
    // n sequential no-op round trips from the page to its server (GET /healthz): the floor
    // of anything the page asks the screen
    // ("xhr":true: XMLHttpRequest instead of fetch, to compare the two request paths;
    // "lookup":{...}: POST /api/lookup with that JSON body instead, a request like a
    // sign-in's that records nothing; "ws":true: as a message on a WebSocket to the screen,
    // as the page sends its calls, the no-op being a call the server does not know)
    const ms = await page.evaluate(async ([n, xhr, lookup, ws]) => {
      const path = lookup ? '/api/lookup' : '/healthz';
      const body = lookup ? JSON.stringify(lookup) : null;
      const viaXhr = () => new Promise((resolve, reject) => {
        const x = new XMLHttpRequest();
        x.open(lookup ? 'POST' : 'GET', path);
        if (lookup) x.setRequestHeader('Content-Type', 'application/json');
        x.onload = () => resolve(JSON.parse(x.responseText));
        x.onerror = reject;
        x.send(body);
      });
      const viaFetch = async () => (await fetch(path, lookup ? {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body,
      } : { cache: 'no-store' })).json();
      let sock = null;
      if (ws) {
        sock = new WebSocket(`ws://${location.host}/api/ws`);
        await new Promise((resolve, reject) => { sock.onopen = resolve; sock.onerror = reject; });
      }
      let id = 0;
      const viaWs = () => new Promise((resolve) => {
        sock.onmessage = (e) => resolve(JSON.parse(e.data));
        sock.send(JSON.stringify({ id: ++id, call: lookup ? 'lookup' : 'nothing', body: lookup ?? {} }));
      });
      const out = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await (ws ? viaWs() : xhr ? viaXhr() : viaFetch());
        out.push(performance.now() - t0);
      }
      if (sock) sock.close();
      return out;
    }, [c.n ?? 20, !!c.xhr, c.lookup ?? null, !!c.ws]);
    return { ok: true, ms };
  },
  async eval(c) {
    return { ok: true, value: await page.evaluate(c.js) };
  },
  async errors() {
    return { ok: true, errors: consoleErrors.splice(0) };
  },
};

const rl = createInterface({ input: process.stdin });
process.stdout.write(`${JSON.stringify({ ok: true, ready: true })}\n`);
for await (const line of rl) {
  if (!line.trim()) continue;
  const c = JSON.parse(line);
  if (c.op === 'quit') break;
  let out;
  try {
    out = await ops[c.op](c);
  } catch (e) {
    out = { ok: false, error: String(e?.message ?? e).slice(0, 2000) };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
if (!process.env.ROLLCALL_CDP) await browser.close(); // a session the test started: it stops it
process.exit(0);
