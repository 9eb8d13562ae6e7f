// The console: a client of the documented HTTP API only (docs/openapi.yaml), logged in by a
// session cookie; writes carry the session's CSRF token. Pages by hash: #/overview, #/live,
// #/class/ID, #/review, #/subsidy[/ID] (subsidy.js), #/kiosks, #/exports, #/admin (accounts),
// #/admin/tokens, #/admin/fences[?fence=ID&version=N].
import * as echarts from 'echarts/core';
import { LineChart, BarChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, LegendComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import L from 'leaflet';
import { messages } from './messages.js';
import { canSubsidy, pageSubsidy } from './subsidy.js';

echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, LegendComponent, CanvasRenderer]);

// The default policy's attendance thresholds (docs/ATTENDANCE.md: attendance_warning,
// attendance_serious); the summary does not carry the policy's parameters.
// The yellow/red thresholds and the online cap: the policy's, from GET /v1/summary.
let WARN = 0.9, SERIOUS = 0.8, ONLINE_MAX = 1;
function takePolicy(p) {
  if (!p) return;
  WARN = p.attendance_warning ?? WARN;
  SERIOUS = p.attendance_serious ?? SERIOUS;
  ONLINE_MAX = p.online_share_max ?? ONLINE_MAX;
}
const LIVE_POLL_MS = 3000;

let lang = localStorage.getItem('rollcall.lang') === 'en' ? 'en' : 'zh';
let me = null;
let timer = null;
let charts = [];
let map = null;

const $ = (sel, root = document) => root.querySelector(sel);
function t(key, vars = {}) {
  const s = messages[lang][key] ?? messages.zh[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}
function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
function pct(r) { return r === null || r === undefined ? '—' : `${(r * 100).toFixed(1)}%`; }
function num(n, d = 1) { return n === null || n === undefined ? '—' : Number(n).toFixed(d); }
function rateClass(r) { return r === null || r === undefined ? '' : r < SERIOUS ? 'bad' : r < WARN ? 'warn' : ''; }
function localTime(iso) {
  if (!iso) return t('never');
  const d = new Date(iso);
  return d.toLocaleString(lang === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false });
}
function hhmm(iso) { return iso ? new Date(iso).toLocaleTimeString('zh-CN', { hour12: false, hour: '2-digit', minute: '2-digit' }) : '—'; }

class ApiError extends Error {
  // msg: the body's technical line (`error`); human: its `message` in the page's language
  constructor(status, msg, human = '') { super(msg); this.status = status; this.human = human; }
}
async function api(path, { method = 'GET', body, raw = false, type } = {}) {
  const headers = { 'Accept-Language': lang === 'en' ? 'en' : 'zh-CN' }; // finding titles, messages
  if (method !== 'GET') headers['X-CSRF-Token'] = me?.csrf_token ?? '';
  if (body !== undefined) headers['Content-Type'] = type ?? 'application/json';
  const res = await fetch(path, { method, headers, credentials: 'same-origin',
    body: body === undefined ? undefined : type ? body : JSON.stringify(body) });
  if (res.status === 401 && path !== '/v1/login') {
    me = null;
    sessionStorage.removeItem('rollcall.session');
    showLogin();
    throw new ApiError(401, 'log in again');
  }
  if (!res.ok) {
    let msg = `${res.status}`, human = '';
    try { const j = await res.json(); msg = j.error ?? msg; human = j.message ?? ''; } catch { /* not JSON */ }
    throw new ApiError(res.status, msg, human);
  }
  return raw ? res : res.json();
}
const isAdmin = () => me?.role === 'admin';
const canReview = () => me && (me.role === 'admin' || me.role === 'city' || me.role.startsWith('district:'));
const canDevices = () => me && me.role !== 'evaluator';

function stopPage() {
  if (timer) { clearInterval(timer); timer = null; }
  charts.forEach((c) => c.dispose());
  charts = [];
  if (map) { map.remove(); map = null; }
  document.onkeydown = null;
}

/* ---------- login ---------- */
function showLogin(why = '') {
  stopPage();
  $('#top').hidden = true;
  $('#main').innerHTML = `<form class="login" id="login-form" autocomplete="on">
    <h1>${esc(t('brand'))}</h1><p class="muted">${esc(t('login_title'))}</p>
    <label for="f-user">${esc(t('user'))}</label><input id="f-user" name="user" autocomplete="username" required>
    <label for="f-password">${esc(t('password'))}</label><input id="f-password" name="password" type="password" autocomplete="current-password" required>
    <p class="error" id="login-error">${esc(why)}</p>
    <button class="primary" type="submit">${esc(t('login'))}</button>
    <p><button type="button" class="lang-inline">${esc(t('lang'))}</button> · <a id="public-link" href="#/public">${esc(t('public_link'))}</a></p></form>`;
  $('.lang-inline').onclick = () => { switchLang(); showLogin(); };
  $('#login-form').onsubmit = async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    try {
      me = await api('/v1/login', { method: 'POST', body: { user: f.user.value, password: f.password.value } });
      sessionStorage.setItem('rollcall.session', '1');
      if (!location.hash || location.hash === '#/login') location.hash = '#/overview';
      route();
    } catch (e) {
      $('#login-error').textContent = t('login_failed', { why: e.message });
    }
  };
}

function switchLang() {
  lang = lang === 'zh' ? 'en' : 'zh';
  localStorage.setItem('rollcall.lang', lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
}

function frame(page) {
  $('#top').hidden = false;
  document.querySelectorAll('[data-t]').forEach((el) => { el.textContent = t(el.dataset.t); });
  const pages = [['overview', '#/overview'], ['live', '#/live'], ['klass', '#/class'], ['review', '#/review']];
  if (canSubsidy(me.role)) pages.push(['subsidy', '#/subsidy']);
  if (canDevices()) pages.push(['kiosks', '#/kiosks']);
  pages.push(['exports', '#/exports']);
  if (isAdmin()) pages.push(['admin', '#/admin']);
  $('#nav').innerHTML = pages.map(([k, h]) => `<a href="${h}" data-page="${k}" class="${k === page ? 'on' : ''}">${esc(t(k))}</a>`).join('');
  $('#who').textContent = `${me.user ?? me.name} · ${me.role}`;
  $('#lang').textContent = t('lang');
}

/* ---------- shared pieces ---------- */
// A table on screen as a CSV file (UTF-8 with a BOM, so Excel and WPS read the Chinese), named
// by what it shows: made in the page from the figures already drawn, nothing new asked.
function csvButton(table, name) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'csv';
  b.textContent = t('csv');
  b.onclick = () => {
    const cell = (s) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
    const rows = [...table.rows].map((r) => [...r.cells].map((c) => cell(c.textContent.replace(/ ↕$/, '').trim())).join(','));
    const url = URL.createObjectURL(new Blob([`\ufeff${rows.join('\r\n')}\r\n`], { type: 'text/csv;charset=utf-8' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `${name}.csv`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  table.before(b);
}

function sortable(table) {
  table.querySelectorAll('th.sort').forEach((th, i) => {
    th.onclick = () => {
      const col = [...th.parentNode.children].indexOf(th);
      const dir = th.dataset.dir === 'asc' ? 'desc' : 'asc';
      th.dataset.dir = dir;
      const rows = [...table.tBodies[0].rows];
      rows.sort((a, b) => {
        const x = a.cells[col].dataset.v ?? a.cells[col].textContent;
        const y = b.cells[col].dataset.v ?? b.cells[col].textContent;
        const nx = Number(x), ny = Number(y);
        const c = !Number.isNaN(nx) && !Number.isNaN(ny) && x !== '' && y !== '' ? nx - ny : String(x).localeCompare(String(y), 'zh');
        return dir === 'asc' ? c : -c;
      });
      rows.forEach((r) => table.tBodies[0].appendChild(r));
    };
    void i;
  });
}
function figureCells(r) {
  const rc = (v) => `<td class="num ${rateClass(v)}" data-v="${v ?? ''}">${pct(v)}</td>`;
  return `<td class="num" data-v="${r.scheduled_hours}">${num(r.scheduled_hours)}</td>
    <td class="num" data-v="${r.attended_hours}">${num(r.attended_hours)}</td>
    <td class="num rate ${rateClass(r.attendance_rate)}" data-v="${r.attendance_rate ?? ''}">${pct(r.attendance_rate)}</td>
    <td class="num ${r.online_share > ONLINE_MAX ? 'bad' : ''}" data-v="${r.online_share ?? ''}">${pct(r.online_share)}</td>
    <td class="num" data-v="${r.recording_coverage ?? ''}">${pct(r.recording_coverage)}</td>
    <td class="num" data-v="${r.pass_rate_assessed ?? ''}">${pct(r.pass_rate_assessed)}</td>
    <td class="num" data-v="${r.pass_rate_enrolled ?? ''}">${pct(r.pass_rate_enrolled)}</td>
    <td class="num">${r.findings.serious}</td><td class="num">${r.findings.warning}</td>
    <td class="num">${r.pending_reviews}</td>`.replace(/\n\s*/g, '') + (rc === null ? '' : '');
}
const figureHeads = () => ['scheduled_hours', 'attended_hours', 'attendance_rate', 'online_share',
  'recording_coverage', 'pass_rate_assessed', 'pass_rate_enrolled', 'serious', 'warning', 'pending_reviews']
  .map((k) => `<th class="sort num">${esc(t(k))}</th>`).join('');

// The scope's headline: the one row when the scope is one district, else hours-weighted sums.
function headline(sum) {
  if (sum.districts.length === 1) return sum.districts[0];
  const s = (k) => sum.districts.reduce((a, r) => a + (r[k] ?? 0), 0);
  const sched = s('scheduled_hours'), att = s('attended_hours');
  const wcov = sum.districts.reduce((a, r) => a + (r.recording_coverage ?? 0) * r.scheduled_hours, 0);
  return {
    scheduled_hours: sched, attended_hours: att,
    attendance_rate: sched ? att / sched : null,
    online_share: att ? s('online_hours') / att : null,
    recording_coverage: sched ? wcov / sched : null,
    pass_rate_assessed: s('assessed') ? s('passed') / s('assessed') : null,
    pass_rate_enrolled: s('enrolled') ? s('passed') / s('enrolled') : null,
    findings: { serious: s('findings.serious'), warning: 0, info: 0 },
    pending_reviews: s('pending_reviews'),
  };
}

// Dates as YYYY-MM-DD whatever the browser's locale: a text field with that pattern (an
// <input type=date> shows the locale's format, mm/dd/yyyy in an en-US browser), checked here
// with a message in the page's language (the form is novalidate: the browser's own bubble
// would speak the browser's language).
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
function isDate(s) {
  if (!DATE_RE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}
function dateField(name, label, value) {
  return `<label>${esc(label)} <input name="${name}" class="date" value="${esc(value)}" placeholder="YYYY-MM-DD"
    inputmode="numeric" maxlength="10" size="11" pattern="\\d{4}-\\d{2}-\\d{2}" autocomplete="off" title="YYYY-MM-DD (${esc(t('date_hint'))})"></label>`;
}
// True when every date field of form f is empty or a real date; else says which is not in out.
function datesValid(f, out) {
  for (const input of f.querySelectorAll('input.date')) {
    const v = input.value.trim();
    const bad = v !== '' && !isDate(v);
    input.setAttribute('aria-invalid', String(bad));
    if (bad) {
      out.textContent = t('date_invalid', { v });
      input.focus();
      return false;
    }
  }
  out.textContent = '';
  return true;
}

function query(params) {
  const q = Object.entries(params).filter(([, v]) => v).map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
  return q ? `?${q}` : '';
}

/* ---------- 总览 Overview ---------- */
async function pageOverview(args) {
  const from = args.get('from') ?? '', to = args.get('to') ?? '';
  $('#main').innerHTML = `<h1>${esc(t('overview'))}</h1>
    <form class="row" id="period" novalidate>${dateField('from', t('from'), from)}${dateField('to', t('to'), to)}
    <button class="primary">${esc(t('apply'))}</button><span class="muted">${from || to ? '' : esc(t('period_all'))}</span>
    <a id="summary-xlsx" href="/v1/summary${query({ from, to, format: 'xlsx' })}" download>${esc(t('summary_xlsx'))}</a></form>
    <p class="error" id="period-error" role="alert"></p>
    <div id="ov">${esc(t('loading'))}</div>`;
  $('#period').onsubmit = (ev) => {
    ev.preventDefault();
    const f = ev.target;
    if (!datesValid(f, $('#period-error'))) return;
    location.hash = `#/overview${query({ from: f.from.value.trim(), to: f.to.value.trim() })}`;
  };
  const sum = await api(`/v1/summary${query({ from, to })}`);
  takePolicy(sum.policy);
  const h = headline(sum);
  const sev = sum.districts.reduce((a, r) => ({ serious: a.serious + r.findings.serious,
    warning: a.warning + r.findings.warning, info: a.info + r.findings.info }), { serious: 0, warning: 0, info: 0 });
  const card = (k, v) => `<div class="card" data-figure="${k}"><div class="v">${v}</div><div class="l">${esc(t(k))}</div></div>`;
  const table = (kind, rows, key) => `<h2>${esc(t(kind))}</h2><table class="figures" data-table="${kind}"><thead><tr>
    <th class="sort">${esc(t(key))}</th>${kind === 'classes' ? `<th class="sort">${esc(t('institution'))}</th><th class="sort">${esc(t('occupation'))}</th>` : `<th class="sort num">${esc(t('classes_n'))}</th>`}${figureHeads()}</tr></thead><tbody>
    ${rows.map((r) => `<tr data-key="${esc(r[key])}"><td>${kind === 'classes' ? `<a href="#/class/${encodeURIComponent(r.class)}">${esc(r.class)}</a>` : esc(r[key])}</td>
      ${kind === 'classes' ? `<td>${esc(r.institution)}</td><td>${esc(r.occupation)} ${esc(r.level)}</td>` : `<td class="num">${r.classes}</td>`}${figureCells(r)}</tr>`).join('')}</tbody></table>`;
  $('#ov').innerHTML = `<div class="cards">
    ${card('attendance_rate', pct(h.attendance_rate))}${card('online_share', pct(h.online_share))}
    ${card('recording_coverage', pct(h.recording_coverage))}${card('pass_rate_assessed', pct(h.pass_rate_assessed))}
    ${card('pass_rate_enrolled', pct(h.pass_rate_enrolled))}${card('serious', sev.serious)}${card('warning', sev.warning)}
    ${card('info', sev.info)}${card('pending_reviews', sum.districts.reduce((a, r) => a + r.pending_reviews, 0))}</div>
    <p class="legend" id="thresholds" data-warn="${WARN}" data-serious="${SERIOUS}" data-online-max="${ONLINE_MAX}">${esc(t('thresholds', { w: pct(WARN), s: pct(SERIOUS), o: pct(ONLINE_MAX), p: sum.policy?.name ?? '' }))}
      <span class="warn">&lt; ${pct(WARN)}</span><span class="bad">&lt; ${pct(SERIOUS)}</span></p>
    <div id="alerts" hidden><h2>${esc(t('alerts'))}</h2><div id="alerts-body"></div></div>
    <h2>${esc(t('trend'))}</h2><div class="grid2"><div class="chart" id="trend-rate"></div><div class="chart" id="trend-hours"></div></div>
    ${table('districts', sum.districts, 'district')}${table('institutions', sum.institutions, 'institution')}
    ${table('classes', sum.classes, 'class')}`;
  document.querySelectorAll('table.figures').forEach(sortable);
  const period = from || to ? `-${from || 'start'}-${to || 'now'}` : '';
  document.querySelectorAll('table.figures').forEach((tb) => csvButton(tb, `summary-${tb.dataset.table}${period}`));
  document.body.dataset.ready = 'overview';
  alertsPlace();
  trend(from, to);
}

// Alert deliveries (webhooks, docs/OPERATIONS.md "Alerts"): the city (and admin) sees every one,
// a district its own; other roles have none to see, so the page does not ask.
async function alertsPlace() {
  if (!canReview()) return;
  try {
    const d = await api('/v1/alerts/deliveries');
    const rows = d.deliveries ?? [];
    const cols = ['created_at', 'subscription', 'finding', 'state', 'attempts', 'last_status', 'delivered_at'];
    const cell = (r, k) => (k.endsWith('_at') ? (r[k] ? localTime(r[k]) : '') : (r[k] ?? ''));
    $('#alerts-body').innerHTML = rows.length
      ? `<table id="alert-deliveries"><thead><tr>${cols.map((k) => `<th>${esc(k)}</th>`).join('')}</tr></thead><tbody>${rows.slice(0, 20).map((r) => `<tr>${cols.map((k) => `<td>${esc(String(cell(r, k)))}</td>`).join('')}</tr>`).join('')}</tbody></table>`
      : `<p class="muted">${esc(t('no_data'))}</p>`;
    $('#alerts').hidden = false;
  } catch { /* the collector answered an error: the place stays hidden */ }
}

// Month by month: the summary of each of the last six months (or those of the period).
async function trend(from, to) {
  const end = to ? new Date(`${to}T00:00:00Z`) : new Date();
  const months = [];
  for (let i = 5; i >= 0; i--) {
    const d = new Date(Date.UTC(end.getUTCFullYear(), end.getUTCMonth() - i, 1));
    const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0));
    const iso = (x) => x.toISOString().slice(0, 10);
    if (from && iso(last) < from) continue;
    months.push({ label: iso(d).slice(0, 7), from: iso(d), to: iso(last) });
  }
  const sums = await Promise.all(months.map((m) => api(`/v1/summary${query({ from: m.from, to: m.to })}`).then(headline).catch(() => null)));
  if (!$('#trend-rate')) return;
  const c1 = echarts.init($('#trend-rate'));
  const c2 = echarts.init($('#trend-hours'));
  charts.push(c1, c2);
  const x = months.map((m) => m.label);
  const pc = (k) => sums.map((s) => (s && s[k] !== null && s[k] !== undefined ? +(s[k] * 100).toFixed(1) : null));
  c1.setOption({ animation: false, tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 40, right: 16, top: 32, bottom: 24 },
    xAxis: { type: 'category', data: x }, yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
    series: [['attendance_rate', pc('attendance_rate')], ['recording_coverage', pc('recording_coverage')], ['online_share', pc('online_share')], ['pass_rate_enrolled', pc('pass_rate_enrolled')]]
      .map(([k, d]) => ({ name: t(k), type: 'line', data: d, connectNulls: true })) });
  c2.setOption({ animation: false, tooltip: { trigger: 'axis' }, legend: { top: 0 }, grid: { left: 48, right: 16, top: 32, bottom: 24 },
    xAxis: { type: 'category', data: x }, yAxis: { type: 'value' },
    series: [['scheduled_hours', '#94a3b8'], ['attended_hours', '#1d4ed8']].map(([k, color]) => ({ name: t(k), type: 'bar', color,
      data: sums.map((s) => (s ? +s[k].toFixed(1) : null)) })) });
}

/* ---------- 实时 Live ---------- */
// GET /v1/live (the sessions running now) and GET /v1/devices (the kiosks' state), every 3 s.
async function pageLive() {
  $('#main').innerHTML = `<h1>${esc(t('live_title'))}</h1><p class="muted" id="live-updated"></p><div id="live"></div>`;
  const recText = { recording: '● 录像中 recording', recent: '○ 10 分钟内 recent', none: '✗ 无 none' };
  const draw = async () => {
    const live = await api('/v1/live');
    let devices = [];
    if (canDevices()) devices = (await api('/v1/devices').catch(() => ({ devices: [] }))).devices;
    if (!$('#live')) return;
    const list = (xs) => (xs.length ? `${xs.length}<br><small>${xs.map(esc).join('<br>')}</small>` : '0');
    $('#live').innerHTML = live.sessions.length ? `<table id="live-table"><thead><tr><th>${esc(t('class'))}</th><th>${esc(t('institution'))}</th><th>${esc(t('session'))}</th><th>${esc(t('time'))}</th>
      <th class="num">${esc(t('signed_in'))}</th><th class="num">${esc(t('outside'))}</th><th class="num">${esc(t('uncertain'))}</th>
      <th>${esc(t('recording'))}</th><th>${esc(t('kiosk'))}</th><th>${esc(t('heartbeat'))}</th><th>${esc(t('gnss'))}</th>
      <th class="num">${esc(t('queue'))}</th><th class="num">${esc(t('clock'))}</th></tr></thead><tbody>
      ${live.sessions.map((s) => {
        const kiosks = devices.filter((d) => d.institution === s.institution && (!s.fence || d.fence === s.fence));
        const col = (f) => kiosks.map(f).join('<br>') || '—';
        return `<tr data-class="${esc(s.class)}" data-session="${esc(s.session)}">
        <td><a href="#/class/${encodeURIComponent(s.class)}">${esc(s.class)}</a></td><td>${esc(s.institution)}</td><td>${esc(s.session)}</td><td>${hhmm(s.start)}–${hhmm(s.end)}</td>
        <td class="num present">${s.signed_in} / ${s.roster}</td>
        <td class="num outside ${s.outside.length ? 'bad' : ''}">${list(s.outside)}</td><td class="num ${s.uncertain.length + s.no_fix.length ? 'warn' : ''}">${list([...s.uncertain, ...s.no_fix])}</td>
        <td class="rec ${s.recording === 'none' && s.mode === 'offline' ? 'bad' : ''}">${s.mode === 'online' ? '—' : esc(recText[s.recording])}</td>
        <td>${col((d) => esc(d.id))}</td><td>${col((d) => esc(localTime(d.last_seen)))}</td>
        <td>${col((d) => esc(d.gnss.last_event ?? (d.gnss.fix_mode ? `${d.gnss.fix_mode}D` : '—')))}</td>
        <td class="num">${col((d) => d.queue ?? '—')}</td><td class="num">${col((d) => (d.clock_skew_ms === null ? '—' : `${d.clock_skew_ms} ms`))}</td></tr>`;
      }).join('')}</tbody></table>`
      : `<p class="muted" id="live-none">${esc(t('live_none'))}</p>`;
    $('#live-updated').textContent = t('updated', { t: new Date().toLocaleTimeString('zh-CN', { hour12: false }) });
    document.body.dataset.ready = 'live';
  };
  await draw();
  timer = setInterval(() => { draw().catch(() => {}); }, LIVE_POLL_MS);
}

/* ---------- 班级 Class ---------- */
function untar(buf) {
  const u8 = new Uint8Array(buf), out = {}, dec = new TextDecoder();
  for (let off = 0; off + 512 <= u8.length;) {
    if (u8[off] === 0) break;
    const name = dec.decode(u8.subarray(off, off + 100)).replace(/\0.*$/s, '');
    const size = parseInt(dec.decode(u8.subarray(off + 124, off + 136)).replace(/\0.*$/s, '').trim(), 8) || 0;
    out[name] = dec.decode(u8.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

async function pageClassPick() {
  const sum = await api('/v1/summary');
  takePolicy(sum.policy);
  $('#main').innerHTML = `<h1>${esc(t('classes'))}</h1><table class="figures"><thead><tr><th class="sort">${esc(t('class'))}</th><th class="sort">${esc(t('institution'))}</th>
    <th class="sort">${esc(t('occupation'))}</th>${figureHeads()}</tr></thead><tbody>${sum.classes.map((r) => `<tr><td><a href="#/class/${encodeURIComponent(r.class)}">${esc(r.class)}</a></td>
    <td>${esc(r.institution)}</td><td>${esc(r.occupation)} ${esc(r.level)}</td>${figureCells(r)}</tr>`).join('')}</tbody></table>`;
  sortable($('table.figures'));
  document.body.dataset.ready = 'class-pick';
}

async function pageClass(id) {
  const r = await api(`/v1/classes/${encodeURIComponent(id)}/attendance`);
  const card = (k, v) => `<div class="card" data-figure="${k}"><div class="v">${v}</div><div class="l">${esc(t(k))}</div></div>`;
  $('#main').innerHTML = `<h1>${esc(t('klass'))} ${esc(r.class)}</h1>
    <p>${esc(t('institution'))} ${esc(r.institution)} · ${esc(t('district'))} ${esc(r.district)} · ${esc(r.occupation)} ${esc(r.level)} ·
    ${esc(t('scheduled_hours'))} ${num(r.scheduled_hours)} · ${esc(t('enrolled'))} ${r.enrolled}${canSubsidy(me.role) ? ` · <a id="to-procedure" href="#/subsidy/${encodeURIComponent(r.class)}">${esc(t('to_procedure'))}</a>` : ''}</p>
    <div class="cards">${card('attendance_rate', pct(r.class_attendance_rate))}${card('online_share', pct(r.online_share_actual))}
    ${card('recording_coverage', pct(r.recording_coverage))}${card('pass_rate_assessed', pct(r.pass_rate_assessed))}
    ${card('pass_rate_enrolled', pct(r.pass_rate_enrolled))}${card('serious', r.findings_by_severity?.serious ?? 0)}
    ${card('warning', r.findings_by_severity?.warning ?? 0)}</div>
    <h2>${esc(t('sessions'))}</h2><div class="timeline" id="timeline">${esc(t('loading'))}</div>
    <h2>${esc(t('map'))}</h2><p class="muted" id="map-note"></p><div id="map"></div>
    <h2>${esc(t('trainees'))}</h2><table class="figures" id="trainees"><thead><tr><th class="sort">${esc(t('masked'))}</th><th class="sort">${esc(t('name'))}</th>
    <th class="sort num">${esc(t('scheduled_hours'))}</th><th class="sort num">${esc(t('attended_hours'))}</th><th class="sort num">${esc(t('rate'))}</th>
    <th class="sort num">${esc(t('online_hours'))}</th><th>${esc(t('findings'))}</th></tr></thead><tbody>
    ${r.trainees.map((p) => `<tr><td>${esc(p.trainee_masked)}</td><td>${esc(p.name ?? '')}</td><td class="num">${num(p.scheduled_hours)}</td>
      <td class="num">${num(p.attended_hours)}</td><td class="num ${rateClass(p.attendance_rate)}" data-v="${p.attendance_rate ?? ''}">${pct(p.attendance_rate)}</td>
      <td class="num">${num(p.online_hours)}</td><td>${p.findings.length}</td></tr>`).join('')}</tbody></table>
    <h2>${esc(t('findings'))}</h2><table id="class-findings"><thead><tr><th>${esc(t('kind'))}</th><th>${esc(t('session'))}</th><th>${esc(t('time'))}</th><th>${esc(t('detail'))}</th><th>${esc(t('decision'))}</th></tr></thead><tbody>
    ${r.findings.map((f) => `<tr data-kind="${esc(f.kind)}"><td><span class="pill ${esc(f.severity)}" title="${esc(f.kind)}">${esc(f.title ?? f.kind)}</span></td><td>${esc(f.session ?? '')}</td><td>${f.at ? esc(localTime(f.at)) : ''}</td>
      <td>${esc(f.detail)}</td><td>${f.review ? esc(`${t(f.review.decision)} · ${f.review.reviewer}`) : ''}</td></tr>`).join('')}</tbody></table>
    ${(r.ingest_findings ?? []).length ? `<h2>${esc(t('ingest_findings'))}</h2><table id="class-ingest-findings"><thead><tr><th>${esc(t('kind'))}</th><th>${esc(t('device'))}</th><th>${esc(t('time'))}</th><th>${esc(t('detail'))}</th></tr></thead><tbody>
    ${r.ingest_findings.map((f) => `<tr data-kind="${esc(f.kind)}" data-id="${esc(f.id)}"><td><span class="pill ${esc(f.severity)}" title="${esc(f.kind)}">${esc(f.title ?? f.kind)}</span></td><td>${esc(f.subject)}${f.seq ? ` #${f.seq}` : ''}</td>
      <td>${esc(localTime(f.at))}</td><td>${esc(f.detail)}</td></tr>`).join('')}</tbody></table>` : ''}
    <h2>${esc(t('reviews'))}</h2><table id="reviews"><thead><tr><th>${esc(t('evidence'))}</th><th>${esc(t('decision'))}</th><th>${esc(t('reason'))}</th><th>${esc(t('reviewer'))}</th><th>${esc(t('decided_at'))}</th></tr></thead><tbody>
    ${r.reviews.map((v) => `<tr><td>${esc(v.event)}</td><td>${esc(t(v.decision))}</td><td>${esc(v.reason)}</td><td>${esc(v.reviewer)}</td><td>${esc(localTime(v.decided_at))}</td></tr>`).join('')}</tbody></table>`;
  sortable($('#trainees'));
  document.body.dataset.ready = 'class';
  let bundle = null;
  try {
    bundle = untar(await (await api(`/v1/classes/${encodeURIComponent(id)}/evidence`, { raw: true })).arrayBuffer());
  } catch (e) {
    $('#map-note').textContent = t('map_none', { why: e.message });
  }
  drawTimeline(r, bundle);
  if (bundle) drawMap(bundle);
}

// Each trainee's presence intervals (sign-in to sign-out) and the recordings under them, per
// session, from the kiosks' signed events in the class's evidence bundle.
function drawTimeline(r, bundle) {
  const evs = [];
  if (bundle) {
    for (const [name, text] of Object.entries(bundle)) {
      if (!name.startsWith('events/')) continue;
      for (const line of text.split('\n')) if (line) evs.push(JSON.parse(line));
    }
  }
  const names = Object.fromEntries(r.trainees.filter((p) => p.name).map((p) => [p.trainee_masked, p.name]));
  const html = r.sessions.map((s) => {
    const a = Date.parse(s.start), b = Date.parse(s.end), span = Math.max(b - a, 1);
    const x = (ms) => Math.min(100, Math.max(0, ((ms - a) / span) * 100));
    const mine = evs.filter((e) => e.session === s.id);
    const people = {};
    for (const e of mine.filter((e) => e.type === 'signin' || e.type === 'signout').sort((p, q) => Date.parse(p.ts) - Date.parse(q.ts))) {
      const p = (people[e.trainee_masked] ??= []);
      if (e.type === 'signin') p.push([Date.parse(e.ts), b, e.verdict === 'inside' ? '' : 'out']);
      else if (p.length) p[p.length - 1][1] = Date.parse(e.ts);
    }
    const recs = [];
    for (const e of evs.filter((e) => ['rec_start', 'rec_stop', 'rec_file'].includes(e.type)).sort((p, q) => Date.parse(p.ts) - Date.parse(q.ts))) {
      if (e.type === 'rec_file') recs.push([Date.parse(e.start), Date.parse(e.end)]);
      else if (e.type === 'rec_start') recs.push([Date.parse(e.start ?? e.ts), b]);
      else if (recs.length) recs[recs.length - 1][1] = Date.parse(e.end ?? e.ts);
    }
    recs.sort((p, q) => p[0] - q[0]);
    const inS = recs.filter(([p, q]) => q > a && p < b);
    const gaps = [];
    let cur = a;
    for (const [p, q] of inS) { if (p > cur + 60000) gaps.push([cur, p]); cur = Math.max(cur, q); }
    if (cur < Math.min(b, Date.now()) - 60000) gaps.push([cur, Math.min(b, Date.now())]);
    const bar = (ivs, cls = '') => ivs.map(([p, q, c]) => `<i class="${c ?? cls}" data-l="${x(p)}" data-w="${Math.max(0.3, x(q) - x(p))}"></i>`).join('');
    return `<div class="tl-session"><strong>${esc(s.id)}</strong> ${hhmm(s.start)}–${hhmm(s.end)} · ${esc(s.mode)} ·
      ${esc(t('present'))} ${s.present} · ${esc(t('recording_coverage'))} ${pct(s.recording_coverage)}
      <div class="tl-row"><span class="who">${esc(t('recording'))}</span><span class="bar">${bar(inS, 'rec')}${bar(gaps, 'gap')}</span></div>
      ${Object.entries(people).map(([who, ivs]) => `<div class="tl-row"><span class="who">${esc(names[who] ? `${names[who]} ${who}` : who)}</span><span class="bar">${bar(ivs)}</span></div>`).join('')}</div>`;
  }).join('');
  $('#timeline').innerHTML = html || esc(t('no_data'));
  // Inline style attributes are refused by the page's CSP: set the bars' geometry through the CSSOM.
  $('#timeline').querySelectorAll('i[data-l]').forEach((i) => {
    i.style.left = `${i.dataset.l}%`;
    i.style.width = `${i.dataset.w}%`;
  });
}

function drawMap(bundle) {
  const tiles = document.querySelector('meta[name="rollcall-tiles"]').content;
  map = L.map('map', { attributionControl: false, zoomSnap: 0.25 });
  if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
  else $('#map-note').textContent = t('scale_only');
  L.control.scale({ imperial: false }).addTo(map);
  const bounds = L.latLngBounds([]);
  const style = { color: '#1d4ed8', weight: 2, fillOpacity: 0.08, interactive: false };
  const fences = JSON.parse(bundle['fences.json'] ?? '[]').map((f) => fenceLayer(JSON.parse(f.geojson), style, bounds));
  const verdicts = {};
  for (const j of JSON.parse(bundle['judgements.json'] ?? '[]')) verdicts[`${j.device}/${j.seq}`] = j;
  const color = { inside: '#15803d', outside: '#b91c1c', uncertain: '#b45309', no_fix: '#6b7280' };
  const fixes = [];
  for (const [name, text] of Object.entries(bundle)) {
    if (!name.startsWith('events/')) continue;
    for (const line of text.split('\n')) {
      if (!line) continue;
      const e = JSON.parse(line);
      if ((e.type !== 'signin' && e.type !== 'signout') || !e.fix) continue;
      fixes.push({ e, v: verdicts[`${e.device}/${e.seq}`]?.verdict ?? e.verdict });
      bounds.extend([e.fix.lat, e.fix.lon]);
    }
  }
  // The view first: a circle's extent in metres needs the map's projection.
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.2), { maxZoom: 18 });
  else map.setView([39.12, 117.2], 15);
  fences.forEach((g) => g.addTo(map));
  for (const { e, v } of fixes) {
    const c = color[v] ?? '#6b7280';
    const ll = [e.fix.lat, e.fix.lon];
    L.circle(ll, { radius: e.fix.eph ?? 5, color: c, weight: 1, fillOpacity: 0.15, interactive: false }).addTo(map);
    L.circleMarker(ll, { radius: 5, color: '#fff', weight: 1, fillColor: c, fillOpacity: 1, className: `fix fix-${v}` })
      .bindTooltip(`${e.trainee_masked} · ${t(`verdict_${v}`)} · ±${e.fix.eph ?? '?'} m · ${localTime(e.ts)}`).addTo(map);
  }
  $('#map').dataset.points = String(fixes.length);
  $('#map').dataset.fences = JSON.parse(bundle['fences.json'] ?? '[]').map((f) => `${f.id}@${f.version}`).join(' ');
}

/* ---------- 审核 Review ---------- */
async function pageReview(args) {
  const kind = args.get('kind') ?? '', cls = args.get('class') ?? '';
  const all = await api(`/v1/findings${query({ class: cls })}`);
  const list = all.findings.filter((f) => f.reviewable && !f.reviewed && (!kind || f.kind === kind));
  const kinds = [...new Set(all.findings.filter((f) => f.reviewable).map((f) => f.kind))];
  $('#main').innerHTML = `<h1>${esc(t('review'))}</h1>
    <form class="row" id="filters"><label>${esc(t('kind'))} <select name="kind"><option value="">${esc(t('all'))}</option>
    ${kinds.map((k) => `<option ${k === kind ? 'selected' : ''}>${esc(k)}</option>`).join('')}</select></label>
    <label>${esc(t('class'))} <input name="class" value="${esc(cls)}" size="18"></label><button>${esc(t('apply'))}</button>
    <span class="muted">${esc(t('keys', { j: 'J', k: 'K', a: 'A', r: 'R', f: 'F' }))}</span></form>
    <div id="review-notice"></div>
    ${list.length ? `<div class="review"><table class="queue"><thead><tr><th>${esc(t('class'))}</th><th>${esc(t('kind'))}</th><th>${esc(t('trainee'))}</th><th>${esc(t('time'))}</th></tr></thead><tbody>
    ${list.map((f, i) => `<tr data-i="${i}" data-id="${esc(f.id)}"><td>${esc(f.class)}</td><td><span class="pill ${f.kind.includes('outside') ? 'outside' : 'uncertain'}" title="${esc(f.kind)}">${esc(f.title ?? f.kind)}</span></td>
      <td>${esc(f.trainee_masked ?? f.subject)}</td><td>${esc(localTime(f.at))}</td></tr>`).join('')}</tbody></table><div class="evidence" id="evidence"></div></div>`
    : `<p class="muted" id="review-none">${esc(t('review_none'))}</p>`}`;
  $('#filters').onsubmit = (ev) => {
    ev.preventDefault();
    location.hash = `#/review${query({ kind: ev.target.kind.value, class: ev.target.class.value })}`;
  };
  document.body.dataset.ready = 'review';
  if (!list.length) return;
  let sel = 0;
  const show = (i) => {
    sel = Math.max(0, Math.min(list.length - 1, i));
    document.querySelectorAll('.queue tbody tr').forEach((tr) => tr.classList.toggle('sel', Number(tr.dataset.i) === sel));
    const f = list[sel];
    $('#evidence').innerHTML = `<dl><dt>${esc(t('class'))}</dt><dd><a href="#/class/${encodeURIComponent(f.class)}">${esc(f.class)}</a> · ${esc(f.institution)}</dd>
      <dt>${esc(t('session'))}</dt><dd>${esc(f.session ?? '')}</dd><dt>${esc(t('trainee'))}</dt><dd>${esc(f.trainee_masked ?? f.subject)}</dd>
      <dt>${esc(t('time'))}</dt><dd>${esc(localTime(f.at))}</dd><dt>${esc(t('kind'))}</dt><dd>${esc(f.title ?? f.kind)} · ${esc(f.kind)} (${esc(f.severity)})</dd>
      <dt>${esc(t('detail'))}</dt><dd class="detail">${esc(f.detail)}</dd><dt>${esc(t('evidence'))}</dt><dd>${(f.evidence ?? []).map(esc).join('<br>')}</dd></dl>
      <div id="photo-box" hidden><h2>${esc(t('photo'))}</h2><img id="photo" alt="${esc(t('photo'))}"></div>
      ${canReview() ? `<label>${esc(t('reason'))}<textarea id="reason" rows="2" maxlength="256"></textarea></label>
      <div class="row"><button class="primary" id="approve">${esc(t('approve'))} (A)</button><button class="danger" id="reject">${esc(t('reject'))} (R)</button></div>` : `<p class="muted">${esc(t('not_allowed'))}</p>`}`;
    if (me.role !== 'evaluator' && f.id) {
      const img = $('#photo');
      img.onload = () => { $('#photo-box').hidden = false; };
      img.onerror = () => { $('#photo-box').hidden = true; };
      // Fetched by the page so a 404 or 503 stays quiet (no broken image, no console error).
      fetch(`/v1/events/${encodeURIComponent(f.id)}/photo`, { credentials: 'same-origin' }).then((res) => (res.ok ? res.blob() : null))
        .then((b) => { if (b && $('#photo') === img) img.src = URL.createObjectURL(b); }).catch(() => {});
    }
    if (canReview()) {
      $('#approve').onclick = () => decide('approve');
      $('#reject').onclick = () => decide('reject');
    }
  };
  const decide = async (decision) => {
    const f = list[sel];
    const reason = $('#reason').value.trim();
    if (!reason) { $('#review-notice').innerHTML = `<p class="error">${esc(t('reason_needed'))}</p>`; $('#reason').focus(); return; }
    const before = await api(`/v1/classes/${encodeURIComponent(f.class)}/attendance`);
    try {
      await api(`/v1/findings/${encodeURIComponent(f.id)}/review`, { method: 'POST', body: { decision, reason } });
    } catch (e) {
      $('#review-notice').innerHTML = `<p class="error">${esc(e.message)}</p>`;
      return;
    }
    const after = await api(`/v1/classes/${encodeURIComponent(f.class)}/attendance`);
    list.splice(sel, 1);
    await pageReview(args);
    $('#review-notice').innerHTML = `<p class="notice" id="review-result" data-before="${before.class_attendance_rate ?? ''}" data-after="${after.class_attendance_rate ?? ''}">${esc(f.class)}: ${esc(t('review_done', { d: t(decision === 'approve' ? 'approved' : 'rejected'), a: pct(before.class_attendance_rate), b: pct(after.class_attendance_rate) }))}</p>`;
  };
  document.querySelectorAll('.queue tbody tr').forEach((tr) => { tr.onclick = () => show(Number(tr.dataset.i)); });
  document.onkeydown = (ev) => {
    if (ev.target.tagName === 'TEXTAREA' || ev.target.tagName === 'INPUT' || ev.target.tagName === 'SELECT') {
      if (ev.key === 'Escape') ev.target.blur();
      return;
    }
    const k = ev.key.toLowerCase();
    if (k === 'j' || ev.key === 'ArrowDown') show(sel + 1);
    else if (k === 'k' || ev.key === 'ArrowUp') show(sel - 1);
    else if (k === 'f' && $('#reason')) { ev.preventDefault(); $('#reason').focus(); }
    else if (k === 'a' && canReview()) decide('approve');
    else if (k === 'r' && canReview()) decide('reject');
  };
  show(0);
}

/* ---------- 设备 Kiosks ---------- */
async function pageKiosks() {
  const d = await api('/v1/devices');
  $('#main').innerHTML = `<h1>${esc(t('kiosks'))}</h1><table class="figures" id="devices"><thead><tr><th class="sort">${esc(t('device'))}</th><th class="sort">${esc(t('institution'))}</th>
    <th class="sort">${esc(t('fence'))}</th><th class="sort">${esc(t('profile'))}</th><th class="sort">${esc(t('last_seen'))}</th><th class="sort">${esc(t('gnss'))}</th>
    <th class="sort num">${esc(t('queue'))}</th><th class="sort num">${esc(t('clock'))}</th><th class="sort num">${esc(t('head_seq'))}</th></tr></thead><tbody>
    ${d.devices.map((k) => `<tr data-id="${esc(k.id)}"><td>${esc(k.id)}</td><td>${esc(k.institution)}</td><td>${esc(k.fence)}</td><td>${esc(k.profile)}</td>
      <td data-v="${esc(k.last_seen ?? '')}">${esc(localTime(k.last_seen))}</td><td>${esc([k.gnss.fix_mode ? `${k.gnss.fix_mode}D` : '', k.gnss.last_event ?? ''].join(' ').trim() || '—')}</td>
      <td class="num">${k.queue ?? '—'}</td><td class="num">${k.clock_skew_ms ?? '—'}</td><td class="num">${k.head_seq}</td></tr>`).join('')}</tbody></table>`;
  sortable($('#devices'));
  document.body.dataset.ready = 'kiosks';
}

/* ---------- 导出 Exports ---------- */
async function pageExports() {
  const sum = await api('/v1/summary');
  const subsidy = me.role !== 'evaluator';
  const link = (href, label) => `<a href="${href}" download>${esc(t(label))}</a>`;
  $('#main').innerHTML = `<h1>${esc(t('export_title'))}</h1><table id="exports"><thead><tr><th>${esc(t('class'))}</th><th>${esc(t('institution'))}</th><th></th></tr></thead><tbody>
    ${sum.classes.map((c) => {
      const b = `/v1/classes/${encodeURIComponent(c.class)}`;
      return `<tr data-class="${esc(c.class)}"><td>${esc(c.class)}</td><td>${esc(c.institution)}</td><td class="links">
        ${link(`${b}/attendance?format=csv`, 'attendance_csv')} ${link(`${b}/attendance?format=xlsx`, 'attendance_xlsx')}
        ${subsidy ? `${link(`${b}/subsidy?format=csv`, 'subsidy_csv')} ${link(`${b}/subsidy?format=xlsx`, 'subsidy_xlsx')}` : ''}
        ${link(`${b}/evidence`, 'evidence_tar')}</td></tr>`;
    }).join('')}</tbody></table>`;
  document.body.dataset.ready = 'exports';
}

/* ---------- 管理 Admin ---------- */
// Accounts: the admin adds one with a password typed twice, disables, enables, sets a new
// password (POST /v1/users..., docs/API.md "Accounts"); the password is never shown again.
async function pageAdmin(notice = '') {
  const u = await api('/v1/users');
  const pwFields = `<label>${esc(t('password'))} <input type="password" name="password" autocomplete="new-password" minlength="12" required></label>
      <label>${esc(t('password_again'))} <input type="password" name="password2" autocomplete="new-password" minlength="12" required></label>`;
  $('#main').innerHTML = `<h1>${esc(t('admin_title'))}</h1>${adminTabs('admin')}
    <div id="admin-notice">${notice}</div>
    <table id="users"><thead><tr><th>${esc(t('user'))}</th><th>${esc(t('role'))}</th><th>${esc(t('created_at'))}</th>
    <th>${esc(t('last_login'))}</th><th>${esc(t('password_changed'))}</th><th>${esc(t('state'))}</th><th></th></tr></thead><tbody>
    ${u.users.map((x) => `<tr data-user="${esc(x.name)}"><td>${esc(x.name)}</td><td>${esc(x.role)}</td><td>${esc(localTime(x.created_at))}</td>
      <td>${esc(localTime(x.last_login_at))}</td><td>${esc(localTime(x.password_changed_at))}</td>
      <td class="${x.disabled_at ? 'bad' : ''}">${esc(x.disabled_at ? `${t('disabled')} ${localTime(x.disabled_at)}` : t('enabled'))}</td>
      <td class="links">${x.name === me.user ? '' : `<button type="button" class="${x.disabled_at ? '' : 'danger'}" data-act="${x.disabled_at ? 'enable' : 'disable'}">${esc(t(x.disabled_at ? 'do_enable' : 'do_disable'))}</button>`}
      <button type="button" data-act="password">${esc(t('do_password'))}</button></td></tr>`).join('')}</tbody></table>
    <h2>${esc(t('add_account'))}</h2>
    <form id="add-user" class="row"><label>${esc(t('user'))} <input name="name" required size="14"></label>
      <label>${esc(t('role'))} <input name="role" required placeholder="district:120103" size="22" list="role-kinds"></label>
      <datalist id="role-kinds"><option value="admin"><option value="city"><option value="evaluator"><option value="district:"><option value="institution:"><option value="assessor:"></datalist>
      ${pwFields}<button class="primary">${esc(t('add'))}</button></form>
    <form id="set-password" class="row" hidden><strong id="pw-user"></strong>${pwFields}
      <button class="primary">${esc(t('do_password'))}</button><button type="button" id="pw-cancel">${esc(t('cancel'))}</button></form>`;
  const say = (html) => { $('#admin-notice').innerHTML = html; };
  const twice = (f) => {
    if (f.password.value !== f.password2.value) { say(`<p class="error" id="admin-error">${esc(t('password_mismatch'))}</p>`); return null; }
    return f.password.value;
  };
  const act = async (call, done) => {
    try { await call(); } catch (e) {
      if (e.status !== 401) say(`<p class="error" id="admin-error">${esc(e.message)}</p>`);
      return;
    }
    await pageAdmin(`<p class="notice" id="admin-done">${esc(done)}</p>`);
  };
  $('#add-user').onsubmit = (ev) => {
    ev.preventDefault();
    const f = ev.target, password = twice(f);
    if (password === null) return;
    const name = f.querySelector('[name=name]').value.trim(), role = f.role.value.trim();
    act(() => api('/v1/users', { method: 'POST', body: { name, role, password } }), t('account_added', { u: name, r: role }));
  };
  document.querySelectorAll('#users button[data-act]').forEach((btn) => {
    const name = btn.closest('tr').dataset.user, path = `/v1/users/${encodeURIComponent(name)}`;
    btn.onclick = () => {
      if (btn.dataset.act === 'password') {
        const f = $('#set-password');
        f.hidden = false;
        f.dataset.user = name;
        $('#pw-user').textContent = name;
        f.password.focus();
        return;
      }
      const off = btn.dataset.act === 'disable';
      act(() => api(`${path}/${btn.dataset.act}`, { method: 'POST' }), t(off ? 'account_disabled' : 'account_enabled', { u: name }));
    };
  });
  $('#pw-cancel').onclick = () => { $('#set-password').hidden = true; };
  $('#set-password').onsubmit = (ev) => {
    ev.preventDefault();
    const f = ev.target, name = f.dataset.user, password = twice(f);
    if (password === null) return;
    act(() => api(`/v1/users/${encodeURIComponent(name)}/password`, { method: 'POST', body: { password } }), t('password_set', { u: name }));
  };
  document.body.dataset.ready = 'admin';
}

function adminTabs(on) {
  return `<nav class="tabs" id="admin-tabs">${[['admin', '#/admin', 'accounts'], ['admin-tokens', '#/admin/tokens', 'tokens'],
    ['admin-fences', '#/admin/fences', 'fences_title']].map(([k, h, l]) => `<a href="${h}" data-tab="${k}" class="${k === on ? 'on' : ''}">${esc(t(l))}</a>`).join('')}</nav>`;
}

// Bearer tokens (GET/POST /v1/tokens, POST /v1/tokens/{name}/revoke; docs/CONSOLE.md "Admin"):
// never a token or its hash in the list; a new token is shown once, in this page only, with a
// copy button; revoking asks once more, then every collector refuses the token.
async function pageTokens(notice = '', fresh = null) {
  delete document.body.dataset.ready; // drawn again after each action
  const d = await api('/v1/tokens');
  $('#main').innerHTML = `<h1>${esc(t('admin_title'))}</h1>${adminTabs('admin-tokens')}
    <div id="admin-notice">${notice}</div>
    ${fresh ? `<div class="notice" id="new-token"><p>${esc(t('token_once', { n: fresh.name }))}</p>
      <div class="row"><code id="token-value">${esc(fresh.token)}</code><button type="button" id="token-copy">${esc(t('copy'))}</button>
      <span class="muted" id="token-copied"></span></div></div>` : ''}
    <table id="tokens"><thead><tr><th>${esc(t('token_name'))}</th><th>${esc(t('role'))}</th><th>${esc(t('created_at'))}</th>
    <th>${esc(t('created_by'))}</th><th>${esc(t('state'))}</th><th></th></tr></thead><tbody>
    ${d.tokens.map((x) => `<tr data-token="${esc(x.name)}" data-revoked="${x.revoked_at ? 'yes' : 'no'}"><td>${esc(x.name)}</td><td>${esc(x.role)}</td>
      <td>${esc(localTime(x.created_at))}</td><td>${esc(x.created_by ?? t('unknown'))}</td>
      <td class="${x.revoked_at ? 'bad' : ''}">${esc(x.revoked_at ? t('revoked_by', { t: localTime(x.revoked_at), u: x.revoked_by ?? '' }) : t('token_live'))}</td>
      <td class="links">${x.revoked_at ? '' : `<button type="button" class="danger" data-act="revoke">${esc(t('do_revoke'))}</button>`}</td></tr>`).join('')}</tbody></table>
    <form id="revoke-confirm" class="row notice" hidden><span id="revoke-what"></span>
      <button class="danger" type="submit">${esc(t('confirm_revoke'))}</button><button type="button" id="revoke-cancel">${esc(t('cancel'))}</button></form>
    <h2>${esc(t('add_token'))}</h2>
    <form id="add-token" class="row"><label>${esc(t('token_name'))} <input name="name" required size="18" maxlength="64"></label>
      <label>${esc(t('role'))} <input name="role" required placeholder="enroll:INST-A" size="22" list="token-roles"></label>
      <datalist id="token-roles"><option value="admin"><option value="enroll:"><option value="evaluator"><option value="institution:">
      <option value="district:"><option value="assessor:"><option value="device:"></datalist>
      <button class="primary">${esc(t('create'))}</button><span class="muted">${esc(t('token_hint'))}</span></form>`;
  const say = (html) => { $('#admin-notice').innerHTML = html; };
  if (fresh) {
    $('#token-copy').onclick = async () => {
      try {
        await navigator.clipboard.writeText(fresh.token);
        $('#token-copied').textContent = t('copied');
      } catch {
        // No clipboard (an http:// page, a refused permission): select it for Ctrl+C.
        const r = document.createRange();
        r.selectNodeContents($('#token-value'));
        getSelection().removeAllRanges();
        getSelection().addRange(r);
        $('#token-copied').textContent = t('copy_manual');
      }
    };
  }
  $('#add-token').onsubmit = async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const name = f.querySelector('[name=name]').value.trim(), role = f.role.value.trim();
    let made;
    try {
      made = await api('/v1/tokens', { method: 'POST', body: { name, role } });
    } catch (e) {
      if (e.status !== 401) say(`<p class="error" id="admin-error">${esc(e.message)}</p>`);
      return;
    }
    await pageTokens('', made);
  };
  document.querySelectorAll('#tokens button[data-act="revoke"]').forEach((btn) => {
    btn.onclick = () => {
      const f = $('#revoke-confirm');
      f.dataset.token = btn.closest('tr').dataset.token;
      $('#revoke-what').textContent = t('revoke_what', { n: f.dataset.token });
      f.hidden = false;
    };
  });
  $('#revoke-cancel').onclick = () => { $('#revoke-confirm').hidden = true; };
  $('#revoke-confirm').onsubmit = async (ev) => {
    ev.preventDefault();
    const name = ev.target.dataset.token;
    try {
      await api(`/v1/tokens/${encodeURIComponent(name)}/revoke`, { method: 'POST' });
    } catch (e) {
      if (e.status !== 401) say(`<p class="error" id="admin-error">${esc(e.message)}</p>`);
      return;
    }
    await pageTokens(`<p class="notice" id="admin-done">${esc(t('token_revoked', { n: name }))}</p>`);
  };
  document.body.dataset.ready = 'admin-tokens';
}

// A fence's GeoJSON Feature as a Leaflet layer, its extent added to bounds. A circular venue is
// a Point with properties.radius_m (FENCES.md): its extent is taken from the radius, since a
// circle's own bounds need the map's projection (known once the view is set).
function fenceLayer(feature, style, bounds) {
  if (feature.geometry?.type === 'Point' && feature.properties?.radius_m) {
    const [lon, lat] = feature.geometry.coordinates;
    const r = feature.properties.radius_m;
    bounds.extend([lat + r / 111320, lon]);
    bounds.extend([lat - r / 111320, lon]);
    return L.circle([lat, lon], { ...style, radius: r });
  }
  const g = L.geoJSON(feature, { style, pointToLayer: (_, ll) => L.circleMarker(ll, { ...style, radius: 3 }) });
  bounds.extend(g.getBounds());
  return g;
}

// Venue fences (GET /v1/fences, GET /v1/fences/{id}?version=N): each fence's current version,
// its digest and how many kiosks use it; the selected fence's versions; the selected version on
// a map; and the upload (POST /v1/fences) that makes new versions.
async function pageFences(args, notice = '') {
  delete document.body.dataset.ready; // drawn again after an upload: ready once the map is
  const d = await api('/v1/fences');
  const id = args.get('fence') ?? d.fences[0]?.id ?? '';
  const f = d.fences.find((x) => x.id === id);
  const v = Number(args.get('version') ?? f?.version ?? 0);
  const link = (fid, ver) => `#/admin/fences${query({ fence: fid, version: ver })}`;
  const sha = (h) => `<code title="${esc(h)}">${esc(h.slice(0, 12))}…</code>`;
  $('#main').innerHTML = `<h1>${esc(t('admin_title'))}</h1>${adminTabs('admin-fences')}
    <div id="admin-notice">${notice}</div>
    ${d.fences.length ? `<table id="fences"><thead><tr><th>${esc(t('fence_id'))}</th><th class="num">${esc(t('fence_version'))}</th>
    <th>${esc(t('uploaded_at'))}</th><th>${esc(t('uploaded_by'))}</th><th>${esc(t('digest'))}</th><th class="num">${esc(t('devices_n'))}</th></tr></thead><tbody>
    ${d.fences.map((x) => `<tr data-fence="${esc(x.id)}" class="${x.id === id ? 'sel' : ''}"><td><a href="${link(x.id)}">${esc(x.id)}</a></td><td class="num">${x.version}</td>
      <td>${esc(localTime(x.created_at))}</td><td>${esc(x.created_by)}</td><td>${sha(x.sha256)}</td><td class="num">${x.devices}</td></tr>`).join('')}</tbody></table>`
    : `<p class="muted" id="fences-none">${esc(t('fences_none'))}</p>`}
    ${f ? `<div class="grid2 fence-detail"><div><h2>${esc(t('versions', { f: f.id }))}</h2><table id="fence-versions"><thead><tr><th class="num">${esc(t('version'))}</th>
      <th>${esc(t('uploaded_at'))}</th><th>${esc(t('uploaded_by'))}</th><th>${esc(t('digest'))}</th><th>${esc(t('superseded_at'))}</th></tr></thead><tbody>
      ${f.versions.map((x) => `<tr data-version="${x.version}" class="${x.version === v ? 'sel' : ''}"><td class="num"><a href="${link(f.id, x.version)}">${x.version}</a></td>
        <td>${esc(localTime(x.created_at))}</td><td>${esc(x.created_by)}</td><td>${sha(x.sha256)}</td>
        <td>${x.superseded_at ? esc(localTime(x.superseded_at)) : esc(t('current'))}</td></tr>`).join('')}</tbody></table></div>
      <div><h2 id="fence-map-title">${esc(t('fence_map', { f: f.id, v }))}</h2><p class="muted" id="map-note"></p><div id="fence-map"></div></div></div>` : ''}
    <h2>${esc(t('upload_fences'))}</h2>
    <form id="fence-upload" class="row"><label>${esc(t('fence_file'))} <input type="file" name="file" accept=".geojson,.json,application/geo+json" required></label>
      <button class="primary">${esc(t('upload'))}</button><span class="muted">${esc(t('fence_hint'))}</span></form>`;
  $('#fence-upload').onsubmit = async (ev) => {
    ev.preventDefault();
    const file = ev.target.file.files[0];
    if (!file) return;
    let r;
    try {
      r = await api('/v1/fences', { method: 'POST', body: await file.text(), type: 'application/geo+json' });
    } catch (e) {
      if (e.status !== 401) $('#admin-notice').innerHTML = `<p class="error" id="admin-error">${esc(e.message)}</p>`;
      return;
    }
    const done = r.fences.map((x) => t('fence_done', { f: x.fence, o: t(`fence_${x.outcome}`), v: x.version })).join('；');
    const first = r.fences[0];
    await pageFences(new URLSearchParams(first ? { fence: first.fence, version: String(first.version) } : {}),
      `<p class="notice" id="admin-done">${esc(done)}</p>`);
  };
  if (f) {
    const feature = await api(`/v1/fences/${encodeURIComponent(f.id)}${query({ version: v })}`);
    if (!$('#fence-map')) return;
    const tiles = document.querySelector('meta[name="rollcall-tiles"]').content;
    map = L.map('fence-map', { attributionControl: false, zoomSnap: 0.25 });
    if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
    else $('#map-note').textContent = t('scale_only');
    L.control.scale({ imperial: false }).addTo(map);
    const bounds = L.latLngBounds([]);
    const layer = fenceLayer(feature, { color: '#1d4ed8', weight: 2, fillOpacity: 0.12, interactive: false }, bounds);
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.2), { maxZoom: 18 });
    else map.setView([39.12, 117.2], 15);
    layer.addTo(map);
    $('#fence-map').dataset.fence = `${f.id}@${v}`;
  }
  document.body.dataset.ready = 'admin-fences';
}

/* ---------- public evaluation (no login) ---------- */
// The city's signed yearly results (docs/EVIDENCE.md "Signed publication"): anyone may read
// them; the page shows the signed text's rows, the key that signed them and the bundles each
// row rests on, and says how to check them with rollcall-verify.
async function pagePublic(year) {
  $('#top').hidden = true;
  const head = `<h1>${esc(t('public_title', { year }))}</h1>
    <form id="public-year" class="filters"><label>${esc(t('year'))} <input name="year" type="number" min="2000" max="2100" value="${esc(year)}"></label>
    <button type="submit">${esc(t('show'))}</button> <button type="button" class="lang-inline">${esc(t('lang'))}</button></form>`;
  $('#main').innerHTML = `<section class="public">${head}<div id="public-body"></div></section>`;
  $('#public-year').onsubmit = (ev) => { ev.preventDefault(); location.hash = `#/public/${ev.target.year.value}`; };
  $('.lang-inline').onclick = () => { switchLang(); route(); };
  const res = await fetch(`/public/evaluation/${encodeURIComponent(year)}`);
  if (!res.ok) {
    $('#public-body').innerHTML = `<p class="muted" id="public-none">${esc(t('public_none', { year }))}</p>`;
    document.body.dataset.ready = 'public';
    return;
  }
  const doc = await res.json();
  const p = JSON.parse(doc.publication);
  const rows = p.institutions ?? [];
  $('#public-body').innerHTML = `<p>${esc(t('public_signed', { key: doc.signature?.key_id ?? '', at: localTime(new Date(p.published_at_ms).toISOString()) }))}</p>
    <table id="public-table"><thead><tr><th>${esc(t('institution'))}</th><th>${esc(t('district'))}</th><th>${esc(t('classes_n'))}</th><th>${esc(t('trainees'))}</th>
    <th>${esc(t('attendance'))}</th><th>${esc(t('pass_rate_assessed'))}</th><th>${esc(t('pass_rate_enrolled'))}</th><th>${esc(t('bundles'))}</th></tr></thead>
    <tbody>${rows.map((r) => `<tr data-institution="${esc(r.institution)}"><td>${esc(r.institution)}</td><td>${esc(r.district)}</td><td>${esc(r.classes)}</td><td>${esc(r.trainees)}</td>
    <td class="${rateClass(r.attendance_rate)}">${pct(r.attendance_rate)}</td><td>${pct(r.pass_rate_assessed)}</td><td>${pct(r.pass_rate_enrolled)}</td>
    <td>${(r.bundles ?? []).map((b) => `<code title="${esc(b.manifest_sha256)}">${esc(b.class)}: ${esc(b.manifest_sha256.slice(0, 12))}…</code>`).join('<br>')}</td></tr>`).join('')}</tbody></table>
    <p><a id="public-json" href="/public/evaluation/${encodeURIComponent(year)}" download="evaluation-${esc(year)}.json">JSON</a> ·
    <a id="public-csv" href="/public/evaluation/${encodeURIComponent(year)}.csv">CSV</a></p>
    <p class="muted">${esc(t('public_verify'))}</p><pre>rollcall-verify --publication evaluation-${esc(year)}.json BUNDLE.tar...</pre>`;
  document.body.dataset.ready = 'public';
}

/* ---------- routing ---------- */
async function route() {
  stopPage();
  delete document.body.dataset.ready;
  const pub = /^#\/public(?:\/(\d{4}))?$/.exec(location.hash);
  if (pub) { await pagePublic(pub[1] ?? String(new Date().getFullYear() - 1)); return; }
  if (!me) {
    // Ask only when this tab logged in before (a reload): a first visit goes to the form
    // without a 401 in the browser's log.
    if (!sessionStorage.getItem('rollcall.session')) { showLogin(); return; }
    try { me = await api('/v1/me'); } catch { return; }
  }
  const [path, qs] = (location.hash.slice(1) || '/overview').split('?');
  const args = new URLSearchParams(qs ?? '');
  const parts = path.split('/').filter(Boolean);
  const page = parts[0] === 'class' ? 'klass' : parts[0] ?? 'overview';
  frame(page);
  try {
    if (page === 'overview') await pageOverview(args);
    else if (page === 'live') await pageLive();
    else if (page === 'klass') await (parts[1] ? pageClass(decodeURIComponent(parts[1])) : pageClassPick());
    else if (page === 'review') await pageReview(args);
    else if (page === 'subsidy' && canSubsidy(me.role)) await pageSubsidy({ $, t, esc, api, localTime, me: () => me }, parts[1] ? decodeURIComponent(parts[1]) : null);
    else if (page === 'kiosks') await pageKiosks();
    else if (page === 'exports') await pageExports();
    else if (page === 'admin' && isAdmin() && parts[1] === 'tokens') await pageTokens();
    else if (page === 'admin' && isAdmin() && parts[1] === 'fences') await pageFences(args);
    else if (page === 'admin' && isAdmin() && !parts[1]) await pageAdmin();
    else location.hash = '#/overview';
  } catch (e) {
    if (e.status !== 401) $('#main').insertAdjacentHTML('beforeend', `<p class="error" id="page-error">${esc(e.message)}</p>`);
  }
}

$('#lang').onclick = () => { switchLang(); route(); };
$('#logout').onclick = async () => {
  try { await api('/v1/logout', { method: 'POST' }); } catch { /* ended already */ }
  me = null;
  sessionStorage.removeItem('rollcall.session');
  location.hash = '#/overview';
  showLogin();
};
window.addEventListener('hashchange', route);
window.addEventListener('resize', () => {
  charts.forEach((c) => c.resize());
  if (map) map.invalidateSize();
});
document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
route();
