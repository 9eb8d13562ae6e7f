// The kiosk screen: the trainee picks the class running now (when there are several), types the
// ID number on the keypad or swipes the ID card (a card reader in keyboard mode types the digits
// and Enter), sees the roster's masked name, signs in or out; the answer says who, when and
// where, then the screen returns to the start. A still from the camera goes with each sign-in.
// Everything goes through this page's own server (rollcall-agent screen), never elsewhere.
import { messages } from './messages.js';

const STATE_POLL_MS = 3000;
const ROLLCALL_POLL_MS = 10000;
const ANSWER_SHOW_S = 6;
const CLOCK_WARN_MS = 5000; // GNSS time and the kiosk clock further apart than this: warn
const STORAGE_WARN = 0.9; // share of the outbox's cap in use
const PHOTO_W = 640;
const PHOTO_H = 480;
const PHOTO_QUALITY = 0.85;

let lang = 'zh';
let state = null; // the last /api/state answer
let session = null; // {class, session} chosen
let lookupFor = ''; // the ID the current name belongs to
let camera = { stream: null, reason: 'no_camera' };
let answerTimer = null;
let openRollcall = null;
let busy = false;
const RECORDING_NOTE_MS = 150; // "recording" shown when the answer takes longer than this

const $ = (id) => document.getElementById(id);
const input = () => $('trainee');

function t(name, vars = {}) {
  const s = messages[lang][name] ?? messages.zh[name] ?? name;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

function renderText() {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of document.querySelectorAll('[data-msg]')) el.textContent = t(el.dataset.msg);
  for (const el of document.querySelectorAll('[data-msg-aria]')) {
    el.setAttribute('aria-label', t(el.dataset.msgAria));
  }
  $('lang').textContent = t('lang');
  renderState();
  renderCheck();
  renderRollcall();
}

// ---------- the ID number (GB 11643) ----------

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

export function idCheck(id) {
  if (!/^\d{17}[\dX]$/.test(id)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * WEIGHTS[i];
  return CHECK[sum % 11] === id[17];
}

function cleanId(v) {
  let s = v.toUpperCase().replace(/[^0-9X]/g, '');
  // X only as the last (18th) character
  s = s.slice(0, 17).replace(/X/g, '') + s.slice(17, 18);
  return s.slice(0, 18);
}

function renderCheck() {
  const v = input().value;
  const el = $('check');
  el.className = 'check';
  if (v.length === 0) el.textContent = '';
  else if (v.length < 18) el.textContent = t('check_typing', { n: v.length });
  else if (idCheck(v)) {
    el.textContent = t('check_ok');
    el.classList.add('ok');
  } else {
    el.textContent = t('check_bad');
    el.classList.add('bad');
  }
  const ready = v.length === 18 && idCheck(v) && session !== null && !busy;
  for (const b of document.querySelectorAll('[data-action="signin"],[data-action="signout"]')) {
    b.disabled = !ready;
  }
  const c = document.querySelector('[data-action="confirm"]');
  if (c) c.disabled = !(v.length === 18 && idCheck(v) && !busy);
}

function onIdChanged() {
  const el = input();
  const cleaned = cleanId(el.value);
  if (cleaned !== el.value) el.value = cleaned;
  if (el.value !== lookupFor) {
    $('who').textContent = '';
    $('who').className = 'who';
    lookupFor = '';
  }
  renderCheck();
  if (el.value.length === 18 && idCheck(el.value)) {
    prepareStill(el.value);
    if (session) lookup(el.value);
  } else {
    still = null;
  }
}

async function lookup(id) {
  lookupFor = id;
  $('who').textContent = t('looking_up');
  try {
    const r = await call('lookup', { trainee: id, class: session.class, session: session.session });
    if (input().value !== id) return;
    const who = $('who');
    if (r.name) {
      who.textContent = t('is_this_you', { name: r.name, masked: r.trainee_masked });
      who.className = 'who found';
    } else if (r.code === 'not_on_roster') {
      who.textContent = t('not_on_roster_hint');
      who.className = 'who bad';
    } else {
      who.textContent = r.trainee_masked ?? '';
      who.className = 'who';
    }
  } catch {
    $('who').textContent = '';
  }
}

function key(k) {
  const el = input();
  if (k === 'back') el.value = el.value.slice(0, -1);
  else if (k === 'clear') el.value = '';
  else el.value = el.value + k;
  onIdChanged();
  el.focus();
}

// ---------- the camera ----------

async function openCamera() {
  if (!navigator.mediaDevices?.getUserMedia) {
    camera = { stream: null, reason: 'no_camera' };
    return;
  }
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: PHOTO_W }, height: { ideal: PHOTO_H } },
      audio: false,
    });
    camera = { stream, reason: null };
    $('camera').srcObject = stream;
  } catch (e) {
    const reason = e?.name === 'NotAllowedError' || e?.name === 'SecurityError' ? 'refused'
      : e?.name === 'NotFoundError' || e?.name === 'OverconstrainedError' ? 'no_camera' : 'failed';
    camera = { stream: null, reason };
  }
}

// A still from the live preview as a JPEG blob, or null. Taken and stored on the screen's
// server as soon as a complete, valid ID is on the screen (the trainee is facing it, reading
// the name), so that the click waits for neither the encoder nor the upload (with its fsync);
// a still older than STILL_MAX_AGE_MS is taken again at the click. A still stored for nothing
// (the trainee walks away) is removed by the screen's orphan sweep.
const STILL_MAX_AGE_MS = 5000;
let still = null; // {id, at, stored: Promise<{photo_sha256} | {no_photo}>}

async function capture() {
  if (!camera.stream) return null;
  const video = $('camera');
  const canvas = $('still');
  canvas.width = video.videoWidth || PHOTO_W;
  canvas.height = video.videoHeight || PHOTO_H;
  canvas.getContext('2d').drawImage(video, 0, 0, canvas.width, canvas.height);
  return new Promise((res) => canvas.toBlob(res, 'image/jpeg', PHOTO_QUALITY));
}

// Captures a still and stores it: {photo_sha256} or {no_photo: reason}. Never throws: any
// failure is a reason, and never blocks a sign-in.
async function captureAndStore() {
  if (!camera.stream) return { no_photo: camera.reason };
  try {
    const blob = await capture();
    if (!blob) return { no_photo: 'failed' };
    const r = await fetch('/api/photo', {
      method: 'POST', headers: { 'Content-Type': 'image/jpeg' }, body: blob,
    });
    const j = await r.json();
    return j.ok ? { photo_sha256: j.photo_sha256 } : { no_photo: 'failed' };
  } catch {
    return { no_photo: 'failed' };
  }
}

function prepareStill(id) {
  if (still && still.id === id && performance.now() - still.at < STILL_MAX_AGE_MS) return;
  still = { id, at: performance.now(), stored: captureAndStore() };
}

// The photo for the sign-in of id: the still prepared for it when fresh (waiting for its
// upload if it is still on its way), else one taken now.
async function takePhoto(id) {
  const s = still;
  still = null;
  if (s && s.id === id && performance.now() - s.at < STILL_MAX_AGE_MS) {
    const p = await s.stored;
    if (p.photo_sha256 || !camera.stream) return p;
  }
  return captureAndStore();
}

// ---------- the server ----------

// A POST of JSON, answered JSON, by XMLHttpRequest (in Chromium its round trip is shorter than
// fetch's): the way calls go while the WebSocket below is not open.
function post(path, body) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', path);
    x.setRequestHeader('Content-Type', 'application/json');
    x.onload = () => {
      try {
        resolve(JSON.parse(x.responseText));
      } catch (e) {
        reject(e);
      }
    };
    x.onerror = () => reject(new Error('network'));
    x.send(JSON.stringify(body));
  });
}

// The calls a trainee waits on (lookup, sign-in, sign-out, roll-call confirmation) go over one
// WebSocket kept open to the screen's server: in Chromium a message on it comes back in well
// under a millisecond, where each XMLHttpRequest or fetch to the same server costs about 3 ms
// (docs/PERFORMANCE.md "Kiosk screen"). Each message is {id, call, body}, answered {id,
// status, body} with what POST /api/<call> answers. While it is not open (the server
// restarting), a call goes by XMLHttpRequest, and the socket is opened again.
const SOCKET_RETRY_MS = [500, 1000, 2000, 5000];
let socket = null; // open, or null
let socketRetries = 0;
let callId = 0;
const waiting = new Map(); // id -> {resolve, reject}

function openSocket() {
  const w = new WebSocket(`ws://${location.host}/api/ws`);
  w.onopen = () => {
    socket = w;
    socketRetries = 0;
  };
  w.onmessage = (e) => {
    let m;
    try {
      m = JSON.parse(e.data);
    } catch {
      return;
    }
    const p = waiting.get(m.id);
    if (!p) return;
    waiting.delete(m.id);
    p.resolve(m.body);
  };
  w.onclose = () => {
    if (socket === w) socket = null;
    // what was on its way is lost with it: answered as a failure, as a failed request is
    for (const p of waiting.values()) p.reject(new Error('network'));
    waiting.clear();
    const wait = SOCKET_RETRY_MS[Math.min(socketRetries++, SOCKET_RETRY_MS.length - 1)];
    setTimeout(openSocket, wait);
  };
}

function call(name, body) {
  if (!socket || socket.readyState !== WebSocket.OPEN) return post(`/api/${name}`, body);
  const id = ++callId;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    socket.send(JSON.stringify({ id, call: name, body }));
  });
}

async function act(cmd) {
  const id = input().value;
  if (busy || !(id.length === 18 && idCheck(id))) return;
  let target = session;
  const extra = {};
  if (cmd === 'confirm') {
    if (!openRollcall) return;
    target = { class: openRollcall.class, session: openRollcall.session };
    extra.rollcall = openRollcall.rollcall;
  }
  if (!target) return;
  busy = true;
  mark('click');
  let reply;
  try {
    const photo = await takePhoto(id);
    mark('photo');
    // Nothing is redrawn while the request is on its way unless it takes long: a redraw of
    // the whole page ("recording", the buttons off) runs on the page's thread in front of the
    // reply's handling, and the answer replaces all of it anyway. `busy` already refuses a
    // second tap.
    const sent = call(cmd, {
      trainee: id, class: target.class, session: target.session, ...photo, ...extra,
    });
    const slow = setTimeout(() => {
      document.body.dataset.busy = 'true';
      $('who').textContent = t('recording');
      renderCheck();
    }, RECORDING_NOTE_MS);
    try {
      reply = await sent;
    } finally {
      clearTimeout(slow);
    }
    mark('reply');
  } catch {
    reply = { ok: false, code: 'no_daemon', error: t('no_daemon') };
  }
  input().value = ''; // the clear number leaves the page as soon as it is sent
  lookupFor = '';
  busy = false;
  delete document.body.dataset.busy;
  showAnswer(cmd, reply);
  mark('shown');
}

// Where the time of a sign-in goes (read by tests/bench/bench_screen.py): performance marks
// "rc:click", "rc:photo" (the still's hash in hand), "rc:reply", "rc:shown".
function mark(name) {
  if (name === 'click') performance.clearMarks();
  performance.mark(`rc:${name}`);
}

// ---------- the answer ----------

// One formatter per language, made once: building an Intl.DateTimeFormat (what toLocaleString
// does on every call) costs about a millisecond, on the way to the answer.
const whenFormat = {};
function when(iso) {
  const d = iso ? new Date(iso) : new Date();
  const locale = lang === 'zh' ? 'zh-CN' : 'en-GB';
  whenFormat[locale] ??= new Intl.DateTimeFormat(locale, {
    timeZone: 'Asia/Shanghai', hour12: false, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  return whenFormat[locale].format(d);
}

function showAnswer(cmd, reply) {
  const a = $('answer');
  const ok = reply && reply.ok === true;
  const res = reply?.result ?? {};
  a.dataset.ok = ok ? 'true' : 'false';
  a.dataset.verdict = ok ? (res.verdict ?? '') : '';
  a.dataset.code = ok ? '' : (reply?.code ?? 'error');
  $('answer-mark').textContent = ok ? '✓' : '✗';
  if (ok) {
    $('answer-title').textContent = t(cmd === 'signout' ? 'signout_recorded'
      : cmd === 'confirm' ? 'confirm_recorded' : 'signin_recorded');
    $('answer-who').textContent = [res.name, res.trainee_masked].filter(Boolean).join('  ');
    $('answer-when').textContent = t('at', { time: when(null) });
    const m = res.distance_m == null ? '' : Math.abs(res.distance_m).toFixed(0);
    const acc = res.fix?.eph == null ? '?' : Number(res.fix.eph).toFixed(0);
    $('answer-where').textContent = t(res.verdict in messages.zh ? res.verdict : 'no_fix', { m, acc });
    $('answer-where').dataset.verdict = res.verdict ?? '';
    $('answer-todo').textContent = '';
  } else {
    $('answer-title').textContent = t('refused');
    const code = reply?.code;
    // the kiosk's own words for a schedule refusal; anything else as the daemon put it
    $('answer-who').textContent = code === 'not_on_roster' ? t('why_roster')
      : code === 'no_session' ? t('why_session')
        : (reply?.error ?? '').replace(/^nothing recorded: /, '');
    $('answer-when').textContent = '';
    $('answer-where').textContent = '';
    $('answer-where').dataset.verdict = '';
    $('answer-todo').textContent = t(code === 'not_on_roster' ? 'todo_roster'
      : code === 'no_session' ? 'todo_session' : /身份证|ID number/.test(reply?.error ?? '')
        ? 'todo_id' : 'todo_other');
  }
  let left = ANSWER_SHOW_S;
  const tick = () => {
    $('answer-done').textContent = `${t('done')} · ${t('back_in', { s: left })}`;
    if (left-- <= 0) reset();
  };
  clearInterval(answerTimer);
  tick();
  answerTimer = setInterval(tick, 1000);
  a.hidden = false;
  document.body.dataset.screen = 'answer';
  // What nobody sees waits until the answer's first frame is drawn: the screen under it made
  // inert (a style pass over the whole page) and the keyboard's focus moved to 完成 (which
  // would lay the page out now, in front of the answer).
  const shown = answerTimer;
  requestAnimationFrame(() => setTimeout(() => {
    if (answerTimer !== shown) return; // already gone
    coverScreen(true);
    $('answer-done').focus();
  }, 0));
}

// The start screen under the answer: inert while the answer covers it.
function coverScreen(on) {
  for (const el of document.querySelectorAll('main > section:not(.answer)')) el.inert = on;
}

function reset() {
  clearInterval(answerTimer);
  answerTimer = null;
  coverScreen(false);
  $('answer').hidden = true;
  document.body.dataset.screen = 'start';
  input().value = '';
  $('who').textContent = '';
  renderCheck();
  input().focus();
}

// ---------- the status bar, the sessions, warnings ----------

function renderState() {
  if (!state) return;
  $('kiosk-id').textContent = state.device ?? '—';
  const st = state.status;
  const g = $('gnss');
  const gs = st?.gnss?.state ?? 'none';
  g.dataset.state = gs;
  const eph = st?.gnss?.fix?.eph;
  g.textContent = gs === 'fresh' ? t('gnss_fresh', { acc: eph == null ? '?' : Number(eph).toFixed(0) })
    : gs === 'stale' ? t('gnss_stale') : gs === 'surveyed' ? t('gnss_surveyed') : t('gnss_none');
  const link = $('link');
  const down = !st || !!st.last_sync_error;
  const linkState = !st ? 'unknown' : (down ? 'down' : (st.last_sync ? 'ok' : 'unknown'));
  link.dataset.state = linkState;
  link.textContent = t(`link_${linkState}`, { q: st?.queue ?? '?' });

  const warns = [];
  if (!state.daemon) warns.push(['no_daemon', t('no_daemon')]);
  if (gs === 'stale' || (state.daemon && gs === 'none')) warns.push(['stale', t('warn_stale')]);
  const skew = st?.clock_skew_ms;
  if (typeof skew === 'number' && Math.abs(skew) > CLOCK_WARN_MS) {
    warns.push(['clock', t('warn_clock', { s: (skew / 1000).toFixed(0) })]);
  }
  const s = st?.storage;
  if (s && (s.full || (s.max_bytes > 0 && s.used_bytes / s.max_bytes > STORAGE_WARN))) {
    warns.push(['storage', t('warn_storage')]);
  }
  if (linkState === 'down') warns.push(['link', t('warn_link')]);
  const w = $('warnings');
  w.replaceChildren(...warns.map(([k, text]) => {
    const p = document.createElement('p');
    p.dataset.warning = k;
    p.textContent = `⚠ ${text}`;
    return p;
  }));
  renderSessions();
}

function renderSessions() {
  const list = $('session-list');
  const sessions = state?.sessions ?? [];
  if (session && !sessions.some((x) => x.class === session.class && x.session === session.session)) {
    session = null;
  }
  if (!session && sessions.length === 1) session = { class: sessions[0].class, session: sessions[0].session };
  const items = sessions.map((x) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'session';
    b.setAttribute('role', 'radio');
    const chosen = session && session.class === x.class && session.session === x.session;
    b.setAttribute('aria-checked', chosen ? 'true' : 'false');
    b.dataset.class = x.class;
    b.dataset.session = x.session;
    const hm = (iso) => new Date(iso).toLocaleTimeString('zh-CN', {
      timeZone: 'Asia/Shanghai', hour12: false, hour: '2-digit', minute: '2-digit',
    });
    b.innerHTML = '';
    const c = document.createElement('b');
    c.textContent = x.class;
    const s = document.createElement('span');
    s.textContent = ` ${x.session} · ${hm(x.start)}–${hm(x.end)}`;
    b.append(c, s);
    b.addEventListener('click', () => {
      session = { class: x.class, session: x.session };
      renderSessions();
      onIdChanged();
    });
    return b;
  });
  if (items.length === 0) {
    const p = document.createElement('p');
    p.className = 'none';
    p.textContent = state?.schedule === false ? t('no_schedule') : t('no_session');
    items.push(p);
  } else if (items.length > 1 && !session) {
    const p = document.createElement('p');
    p.className = 'choose';
    p.textContent = t('choose_session');
    items.unshift(p);
  }
  list.replaceChildren(...items);
  renderCheck();
}

async function pollState() {
  try {
    const r = await fetch('/api/state');
    state = await r.json();
  } catch {
    state = { device: state?.device, daemon: false, status: null, sessions: state?.sessions ?? [] };
  }
  renderState();
  document.body.dataset.ready = 'true';
}

// ---------- roll-call (随机点名) ----------

function renderRollcall() {
  const banner = $('rollcall');
  if (!openRollcall) {
    banner.hidden = true;
    return;
  }
  const until = new Date(openRollcall.closes).toLocaleTimeString('zh-CN', {
    timeZone: 'Asia/Shanghai', hour12: false, hour: '2-digit', minute: '2-digit',
  });
  $('rollcall-text').textContent = t('rollcall_open', { id: openRollcall.rollcall, until });
  banner.hidden = false;
}

async function pollRollcall() {
  try {
    const r = await (await fetch('/api/rollcall')).json();
    // A daemon without roll-calls answers "unknown cmd": show nothing. Of several open (a new
    // one opens while the last is still open), the newest, of the class chosen if it has one.
    const open = r.ok && Array.isArray(r.rollcalls) ? r.rollcalls : [];
    const mine = open.filter((x) => session && x.class === session.class && x.session === session.session);
    const pick = (xs) => xs.reduce((a, x) => (!a || x.opens > a.opens ? x : a), null);
    openRollcall = pick(mine) ?? pick(open);
  } catch {
    openRollcall = null;
  }
  renderRollcall();
}

// ---------- wiring ----------

function tickClock() {
  $('clock').textContent = new Date().toLocaleTimeString('zh-CN', {
    timeZone: 'Asia/Shanghai', hour12: false,
  });
}

function init() {
  const el = input();
  el.addEventListener('input', onIdChanged);
  // A card reader in keyboard mode types the digits and Enter: Enter looks the number up.
  el.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      onIdChanged();
    }
  });
  // Typing anywhere on the page goes into the ID field (a card reader does not focus it).
  document.addEventListener('keydown', (e) => {
    if (document.body.dataset.screen !== 'start' || e.target === el) return;
    if (/^[0-9xX]$/.test(e.key)) {
      e.preventDefault();
      key(e.key.toUpperCase());
    } else if (e.key === 'Backspace' && e.target.tagName !== 'BUTTON') {
      key('back');
    }
  });
  for (const b of document.querySelectorAll('[data-key]')) {
    b.addEventListener('click', () => key(b.dataset.key));
  }
  for (const b of document.querySelectorAll('[data-action]')) {
    b.addEventListener('click', () => {
      const a = b.dataset.action;
      if (a === 'lang') {
        lang = lang === 'zh' ? 'en' : 'zh';
        renderText();
      } else if (a === 'done') reset();
      else act(a);
    });
  }
  renderText();
  tickClock();
  setInterval(tickClock, 1000);
  pollState();
  setInterval(pollState, STATE_POLL_MS);
  pollRollcall();
  setInterval(pollRollcall, ROLLCALL_POLL_MS);
  openCamera();
  openSocket();
}

init();
