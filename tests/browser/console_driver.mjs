// Drives the console in headless Debian chromium (playwright-core) for
// tests/integration/test_console.py: one JSON command per stdin line, one JSON answer per
// stdout line. Every request the page makes is intercepted: one to any host other than the
// collector's is recorded and aborted (`foreign` lists them); console errors are collected.
//
//   {"op":"open","origin":O,"width":W,"height":H[,"locale":L]}  a new context (locale zh-CN
//                                                  unless L) and page at O + "/"
//   {"op":"login","user":U,"password":P}           types into the form's user/password, submits
//   {"op":"goto","hash":"#/overview","ready":R}    navigates, waits for body[data-ready=R]
//   {"op":"reload","ready":R}                      reloads (R null: waits for the login form)
//   {"op":"text","selector":S} / {"op":"texts","selector":S}   textContent of one / all
//   {"op":"attr","selector":S,"name":N}            an attribute of S
//   {"op":"waitText","selector":S,"contains":T}    waits (up to 15 s) until S's text contains T
//   {"op":"waitFor","selector":S}                  waits until S is attached
//   {"op":"click","selector":S} / {"op":"fill","selector":S,"value":V} / {"op":"press","key":K}
//   {"op":"cookies"}                               the context's cookies
//   {"op":"download","selector":S}                 clicks S, answers the download's name and text
//   {"op":"screenshot","path":P}                   a PNG of the page
//   {"op":"viewport","width":W,"height":H}         resizes the page
//   {"op":"eval","js":"..."}                       an expression evaluated in the page
//   {"op":"time","hash":H,"selector":S}            ms from navigation start to S attached
//   {"op":"errors"} / {"op":"foreign"} / {"op":"quit"}
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.ROLLCALL_CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = 30000;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu'],
});
let context = null;
let page = null;
let origin = '';
const consoleErrors = [];
const foreign = [];

async function open(c) {
  if (context) await context.close();
  origin = c.origin;
  context = await browser.newContext({
    viewport: { width: c.width ?? 1366, height: c.height ?? 768 },
    locale: c.locale ?? 'zh-CN',
    timezoneId: 'Asia/Shanghai',
    ignoreHTTPSErrors: true,
    acceptDownloads: true,
  });
  await context.route('**/*', (route) => {
    const u = route.request().url();
    if (new URL(u).origin !== origin && !u.startsWith('blob:') && !u.startsWith('data:')) {
      foreign.push(u);
      return route.abort();
    }
    return route.continue();
  });
  page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT_MS);
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push({ page: page.url(), url: m.location().url, text: m.text() });
  });
  page.on('pageerror', (e) => consoleErrors.push({ page: page.url(), url: '', text: String(e) }));
  await page.goto(`${origin}/${c.hash ?? ''}`);
  if (c.ready) await page.waitForSelector(`body[data-ready="${c.ready}"]`);
  else await page.waitForSelector('form#login-form');
  return { ok: true };
}

async function login(c) {
  await page.waitForSelector('form#login-form');
  await page.fill('input[name="user"]', c.user);
  await page.fill('input[name="password"]', c.password);
  await page.click('form#login-form button[type="submit"]');
  if (c.fails) {
    await page.waitForFunction(() => document.getElementById('login-error').textContent !== '');
    return { error: await page.textContent('#login-error') };
  }
  await page.waitForSelector('body[data-ready]');
  return { nav: await page.$$eval('#nav a', (as) => as.map((a) => a.dataset.page)) };
}

async function run(c) {
  switch (c.op) {
    case 'open': return open(c);
    case 'login': return login(c);
    case 'goto':
      if (await page.evaluate((h) => { delete document.body.dataset.ready; if (location.hash === h) return true; location.hash = h; return false; }, c.hash)) {
        await page.reload(); // the same page again: no hashchange
      }
      await page.waitForSelector(`body[data-ready="${c.ready}"]`);
      return { ok: true };
    case 'reload':
      await page.reload();
      if (c.ready) await page.waitForSelector(`body[data-ready="${c.ready}"]`);
      else await page.waitForSelector('form#login-form');
      return { ok: true };
    case 'text': return { text: await page.textContent(c.selector) };
    case 'texts': return { texts: await page.$$eval(c.selector, (els) => els.map((e) => e.textContent)) };
    case 'attr': return { value: await page.getAttribute(c.selector, c.name) };
    case 'waitText':
      await page.waitForFunction(([s, t]) => document.querySelector(s)?.textContent.includes(t),
        [c.selector, c.contains], { timeout: c.timeout ?? 15000 });
      return { text: await page.textContent(c.selector) };
    case 'waitFor': await page.waitForSelector(c.selector, { state: 'attached' }); return { ok: true };
    case 'click': await page.click(c.selector); return { ok: true };
    case 'fill': await page.fill(c.selector, c.value); return { ok: true };
    case 'setFiles': await page.setInputFiles(c.selector, c.path); return { ok: true };
    case 'press': await page.keyboard.press(c.key); return { ok: true };
    case 'cookies': return { cookies: await context.cookies() };
    case 'download': {
      const [d] = await Promise.all([page.waitForEvent('download'), page.click(c.selector)]);
      const path = await d.path();
      const { readFileSync } = await import('node:fs');
      return { name: d.suggestedFilename(), text: readFileSync(path, 'utf8') };
    }
    case 'screenshot': await page.screenshot({ path: c.path }); return { ok: true };
    case 'viewport':
      await page.setViewportSize({ width: c.width, height: c.height });
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      return { ok: true };
    case 'eval': return { value: await page.evaluate(c.js) };
    case 'time': {
      await page.goto(`${origin}/${c.hash ?? ''}`);
      await page.waitForSelector(c.selector, { state: 'attached' });
      const ms = await page.evaluate(() => performance.now());
      return { ms };
    }
    case 'timeUrl': {
      await page.goto(c.url);
      await page.waitForSelector(c.selector, { state: 'attached' });
      return { ms: await page.evaluate(() => performance.now()) };
    }
    case 'errors': return { errors: consoleErrors.splice(0) };
    case 'foreign': return { foreign };
    case 'quit': await browser.close(); process.exit(0);
    default: throw new Error(`unknown op ${c.op}`);
  }
}

process.stdout.write('{"ready":true}\n');
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  let answer;
  try {
    answer = await run(JSON.parse(line));
  } catch (e) {
    answer = { error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
await browser.close();
