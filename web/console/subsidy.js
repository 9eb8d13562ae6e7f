// 补贴 Subsidy: the procedure of docs/SUBSIDY.md in the console. #/subsidy is the city's review
// queue (GET /v1/review-queue) and the caller's classes with their states; #/subsidy/ID is one
// class's application, claim and living allowances as timelines of steps (GET
// /v1/classes/{id}/procedure), the deadline that applies now, the class's eligibility and
// amounts (GET /v1/classes/{id}/subsidy), and the steps the caller's role may take now as
// forms (POST /v1/classes/{id}/procedure with the session's CSRF token). The server decides:
// the page only hides buttons a role never has, and shows the server's one-line refusal.
// Shown to city, admin, institution:ID and district:CODE (read only); never to the evaluator.
import { messages } from './messages.js';
import { subsidyMessages } from './messages_subsidy.js';

for (const l of Object.keys(subsidyMessages)) {
  for (const [k, v] of Object.entries(subsidyMessages[l])) {
    // One catalogue: a key already there keeps its text (and a test keeps the two apart).
    if (!(k in messages[l])) messages[l][k] = v;
  }
}

const CITY_ROLES = ['city', 'admin'];
const REFERENCE_MAX = 64;
const AMOUNT_MAX = 1000000000;
const NOTICE_MAX = 60;
// A class's states cost one GET of its procedure, and a claimed class's recomputes its frozen
// figures (about 0.1 s at a city of 200 classes, docs/PERFORMANCE.md): the list asks for them
// by itself up to STATES_AUTO_MAX classes, beyond that when asked; two at a time, in order.
const STATES_AUTO_MAX = 20;
const STATE_FETCH_PARALLEL = 2;

export const isCityRole = (role) => CITY_ROLES.includes(role);
export const canSubsidy = (role) => !!role && (isCityRole(role) || role.startsWith('institution:')
  || role.startsWith('district:'));

// The steps a role takes from a state (docs/SUBSIDY.md section 1); the server checks them again.
function allowedActions(kind, state, role, appState) {
  const inst = role.startsWith('institution:');
  const city = isCityRole(role);
  if (kind === 'application') {
    if (state === 'none' || state === 'returned') return inst ? ['submit'] : [];
    if (state === 'submitted') return city ? ['approve', 'return'] : [];
    return [];
  }
  if (state === 'none' || state === 'returned') {
    return inst && (kind === 'allowance' || appState === 'approved') ? ['submit'] : [];
  }
  if (!city) return [];
  if (state === 'submitted') return ['audit', 'return'];
  if (state === 'audited') return ['publish', 'return'];
  if (state === 'published') return ['pay', 'return'];
  return [];
}

// Today in Tianjin (the business dates are Beijing time), as YYYY-MM-DD.
function today() {
  return new Intl.DateTimeFormat('sv-SE', { timeZone: 'Asia/Shanghai' }).format(new Date());
}
export function validDate(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3]));
  return d.getUTCFullYear() === +m[1] && d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3];
}

/* ---------- #/subsidy: the queue and the classes ---------- */
async function pageList(env) {
  const { $, t, esc, api, me } = env;
  const city = isCityRole(me().role);
  $('#main').innerHTML = `<h1>${esc(t('subsidy_title'))}</h1>
    ${city ? `<h2>${esc(t('review_queue'))}</h2><div id="queue-body">${esc(t('loading'))}</div>` : ''}
    <h2>${esc(t('my_classes'))}</h2><div id="classes-body">${esc(t('loading'))}</div>`;
  const [sum, queue] = await Promise.all([api('/v1/summary'),
    city ? api('/v1/review-queue') : Promise.resolve(null)]);
  const inst = Object.fromEntries(sum.classes.map((c) => [c.class, c.institution]));
  const link = (c) => `<a href="#/subsidy/${encodeURIComponent(c)}">${esc(c)}</a>`;
  const st = (s) => `<span class="pill st-${esc(s)}">${esc(t(`state.${s}`))}</span>`;
  if (queue) {
    const rows = queue.applications;
    const flag = (q) => {
      if (!q.late_review) return `<td class="flag">${esc(t('in_time'))}</td>`;
      return `<td class="flag bad">${esc(t(q.state === 'submitted' ? 'overdue' : 'late'))} · ${esc(t('finding.late_review'))}</td>`;
    };
    $('#queue-body').innerHTML = rows.length ? `<table id="review-queue"><thead><tr><th>${esc(t('class'))}</th>
      <th>${esc(t('institution_col'))}</th><th>${esc(t('submitted_on'))}</th><th>${esc(t('review_due'))}</th>
      <th>${esc(t('state'))}</th><th>${esc(t('reviewed_on'))}</th><th></th></tr></thead><tbody>
      ${rows.map((q) => `<tr data-class="${esc(q.class)}" data-state="${esc(q.state)}" data-late="${q.late_review}" class="${q.late_review ? 'late' : ''}">
        <td>${link(q.class)}</td><td>${esc(inst[q.class] ?? '')}</td><td>${esc(q.submitted_on ?? '—')}</td>
        <td class="due ${q.late_review && q.state === 'submitted' ? 'bad' : ''}">${esc(q.review_due ?? q.review_due_unknown ?? '—')}</td>
        <td>${st(q.state)}</td><td>${esc(q.reviewed_on ?? '—')}</td>${flag(q)}</tr>`).join('')}</tbody></table>`
      : `<p class="muted" id="queue-none">${esc(t('queue_none'))}</p>`;
  }
  $('#classes-body').innerHTML = `${sum.classes.length > STATES_AUTO_MAX ? `<p><button type="button" id="load-states">${esc(t('states_load', { n: sum.classes.length }))}</button></p>` : ''}
    <table id="subsidy-classes"><thead><tr><th>${esc(t('class'))}</th><th>${esc(t('institution_col'))}</th>
    <th>${esc(t('occupation'))}</th><th>${esc(t('application'))}</th><th>${esc(t('claim'))}</th></tr></thead><tbody>
    ${sum.classes.map((c) => `<tr data-class="${esc(c.class)}"><td>${link(c.class)}</td><td>${esc(c.institution)}</td><td>${esc(c.occupation)} ${esc(c.level)}</td>
      <td class="app">—</td><td class="claim">—</td></tr>`).join('')}</tbody></table>`;
  document.body.dataset.ready = 'subsidy';
  // The states, filled in as they come; the page is in use meanwhile and a new page stops it.
  const table = $('#subsidy-classes');
  const fill = async () => {
    const rows = [...table.tBodies[0].rows];
    let next = 0;
    const worker = async () => {
      while (next < rows.length && table.isConnected) {
        const tr = rows[next++];
        const p = await api(`/v1/classes/${encodeURIComponent(tr.dataset.class)}/procedure`).catch(() => null);
        if (p) {
          tr.cells[3].innerHTML = st(p.application.state);
          tr.cells[4].innerHTML = st(p.claim.state);
        }
      }
    };
    await Promise.all(Array.from({ length: STATE_FETCH_PARALLEL }, worker));
    if (table.isConnected) table.dataset.states = 'ready';
  };
  if (sum.classes.length <= STATES_AUTO_MAX) fill();
  else $('#load-states').onclick = (ev) => { ev.target.disabled = true; fill(); };
}

/* ---------- #/subsidy/ID: one class's procedure ---------- */
function stepHtml(env, s) {
  const { t, esc, localTime } = env;
  const data = Object.entries(s.data ?? {}).map(([k, v]) => {
    const label = messages.zh[`data.${k}`] ? t(`data.${k}`) : k;
    const val = typeof v === 'boolean' ? (v ? '✓' : '✗') : k === 'figures_sha256' ? String(v).slice(0, 16) + '…' : String(v);
    return `<span class="kv" data-key="${esc(k)}" title="${esc(String(v))}"><b>${esc(label)}</b> ${esc(val)}</span>`;
  }).join('');
  const finding = s.finding ? `<span class="pill serious finding" data-finding="${esc(s.finding)}">${esc(t(`finding.${s.finding}`))} <code>${esc(s.finding)}</code></span>` : '';
  return `<li data-action="${esc(s.action)}" data-state="${esc(s.state)}"><div class="head">
    <strong>${esc(t(`action.${s.action}`))}</strong> → <span class="pill st-${esc(s.state)}">${esc(t(`state.${s.state}`))}</span>
    <span class="on">${esc(t('step_on'))} ${esc(s.on ?? '—')}</span> · <span class="by">${esc(t('step_by'))} ${esc(s.by)}</span>
    · <span class="at muted">${esc(t('step_at'))} ${esc(localTime(s.at))}</span> ${finding}</div>
    ${s.reason ? `<div class="reason">${esc(t('step_reason'))}：${esc(s.reason)}</div>` : ''}
    ${data ? `<div class="data">${data}</div>` : ''}</li>`;
}
function stepsHtml(env, steps, id) {
  const { t, esc } = env;
  return steps.length ? `<ol class="steps" id="${id}">${steps.map((s) => stepHtml(env, s)).join('')}</ol>`
    : `<p class="muted" id="${id}">${esc(t('steps_none'))}</p>`;
}

function deadlines(env, p) {
  const { t } = env;
  const out = [];
  const a = p.application, c = p.claim;
  if (a.state === 'submitted') {
    out.push(a.review_due ? t('deadline_review', { d: a.review_due }) : t('deadline_review_unknown', { why: a.review_due_unknown ?? '' }));
  } else if (a.state === 'returned') {
    out.push(t('deadline_resubmit'));
  } else if (a.state === 'approved' && (c.state === 'none' || c.state === 'returned')) {
    out.push(t('deadline_claim'));
  }
  if (c.state === 'returned' && a.state === 'approved') out.push(t('deadline_resubmit'));
  if (c.state === 'published') {
    const pub = [...c.steps].reverse().find((s) => s.action === 'publish');
    if (pub?.data?.notice_until) out.push(t('deadline_notice', { d: pub.data.notice_until }));
  }
  return out.length ? out : [t('deadline_none')];
}

// One form for one chain (kind, and the trainee of an allowance): the fields its allowed
// actions need and one button per action.
function actionForm(env, kind, actions, { trainee = null, pick = null, amount = '' } = {}) {
  const { t, esc } = env;
  const f = (name, label, attrs = '') => `<label>${esc(t(label))} <input name="${name}" ${attrs}></label>`;
  const title = kind === 'allowance' && trainee ? `${t('allowance')} ${trainee}` : t(kind);
  return `<form class="act row" data-kind="${kind}"${trainee ? ` data-trainee="${esc(trainee)}"` : ''} novalidate>
    <strong>${esc(title)}</strong>
    ${pick ? `<label>${esc(t('trainee_pick'))} <select name="trainee"><option value="">—</option>${pick.map((x) => `<option value="${esc(x)}">${esc(x)}</option>`).join('')}</select></label>` : ''}
    ${f('on', 'date', `value="${today()}" size="11" inputmode="numeric" placeholder="YYYY-MM-DD" autocomplete="off"`)}
    ${actions.some((a) => a !== 'submit') ? f('reason', actions.includes('return') ? 'reason_return' : 'reason_field', 'size="28" maxlength="500"') : ''}
    ${actions.includes('publish') ? f('notice_workdays', 'notice_days', 'size="4" inputmode="numeric"') : ''}
    ${actions.includes('pay') ? `${f('amount_yuan', 'amount_field', `size="9" inputmode="numeric" value="${esc(amount)}"`)}${f('reference', 'reference_field', 'size="18" maxlength="64"')}` : ''}
    ${actions.map((a) => `<button type="submit" data-action="${a}" class="${a === 'return' ? 'danger' : 'primary'}">${esc(t(`action.${a}`))}</button>`).join('')}
  </form>`;
}

// The request body from a form and the button pressed, or a one-line reason it is not sent.
function body(form, kind, action) {
  const v = (n) => (form.elements[n] ? form.elements[n].value.trim() : '');
  const b = { kind, action, on: v('on') };
  if (!validDate(b.on)) return { err: 'bad_date', field: 'on' };
  if (kind === 'allowance') {
    b.trainee = form.dataset.trainee ?? v('trainee');
    if (!b.trainee) return { err: 'need_trainee', field: 'trainee' };
  }
  const reason = v('reason');
  if (action === 'return' && !reason) return { err: 'need_reason', field: 'reason' };
  if (reason) b.reason = reason;
  if (action === 'publish' && v('notice_workdays') !== '') {
    const n = Number(v('notice_workdays'));
    if (!Number.isInteger(n) || n < 1 || n > NOTICE_MAX) return { err: 'bad_notice', field: 'notice_workdays' };
    b.notice_workdays = n;
  }
  if (action === 'pay') {
    const n = Number(v('amount_yuan'));
    if (!/^\d+$/.test(v('amount_yuan')) || n < 1 || n > AMOUNT_MAX) return { err: 'bad_amount', field: 'amount_yuan' };
    b.amount_yuan = n;
    const ref = v('reference');
    if (!ref || new TextEncoder().encode(ref).length > REFERENCE_MAX) return { err: 'bad_reference', field: 'reference' };
    b.reference = ref;
  }
  return { body: b };
}

async function pageProcedure(env, id, notice = '') {
  const { $, t, esc, api, me } = env;
  const path = `/v1/classes/${encodeURIComponent(id)}/procedure`;
  const p = await api(path);
  const role = me().role;
  const a = p.application, c = p.claim;
  const st = (s) => `<span class="pill st-${esc(s)}">${esc(t(`state.${s}`))}</span>`;
  const card = (k, s) => `<div class="card" data-chain="${k}" data-state="${esc(s)}"><div class="v">${st(s)}</div><div class="l">${esc(t(k))}</div></div>`;
  const lastSubmit = [...c.steps].reverse().find((s) => s.action === 'submit');

  // The forms of the steps this role may take now.
  const forms = [];
  const aa = allowedActions('application', a.state, role, a.state);
  if (aa.length) forms.push(actionForm(env, 'application', aa));
  const ca = allowedActions('claim', c.state, role, a.state);
  if (ca.length) forms.push(actionForm(env, 'claim', ca, { amount: lastSubmit?.data?.total_yuan || '' }));
  for (const al of p.allowances) {
    const xa = allowedActions('allowance', al.state, role, a.state).filter((x) => x !== 'submit');
    if (xa.length) forms.push(actionForm(env, 'allowance', xa, { trainee: al.trainee, amount: '1000' }));
  }
  // The living allowance's picker: the class's trainees from its subsidy figures (below).
  const picker = role.startsWith('institution:') && c.state === 'paid';
  if (picker) forms.push('<div id="allowance-pick"></div>');
  const writer = isCityRole(role) || role.startsWith('institution:');
  const actions = forms.length ? forms.join('') : `<p class="muted" id="no-action">${esc(t(writer ? 'no_action' : 'read_only'))}</p>`;

  $('#main').innerHTML = `<h1>${esc(t('procedure_of', { c: p.class }))}</h1>
    <p>${esc(t('institution'))} ${esc(p.institution)} · <a id="to-class" href="#/class/${encodeURIComponent(p.class)}">${esc(t('to_class'))}</a>
    · <a href="#/subsidy">${esc(t('subsidy_title'))}</a></p>
    <div class="cards">${card('application', a.state)}${card('claim', c.state)}
      <div class="card wide" id="deadline-now"><div class="l">${esc(t('deadline_now'))}</div>${deadlines(env, p).map((d) => `<div class="d">${esc(d)}</div>`).join('')}</div></div>
    <div id="subsidy-notice">${notice}</div>
    <h2>${esc(t('actions'))}</h2><div id="subsidy-actions">${actions}</div>
    <div class="chains"><section><h2>${esc(t('application'))} ${st(a.state)}</h2>${stepsHtml(env, a.steps, 'steps-application')}</section>
    <section><h2>${esc(t('claim'))} ${st(c.state)}</h2>
    ${c.figures_changed ? `<p class="error" id="figures-changed"><span class="pill serious" data-finding="${esc(c.finding ?? '')}">${esc(t('finding.claim_figures_changed'))} <code>${esc(c.finding ?? '')}</code></span> ${esc(t('figures_changed_yes'))}</p>` : ''}
    ${stepsHtml(env, c.steps, 'steps-claim')}</section></div>
    <h2>${esc(t('allowances'))}</h2>${p.allowances.length ? `<div id="allowances">${p.allowances.map((x) => `<section class="allowance" data-trainee="${esc(x.trainee)}">
      <h3>${esc(x.trainee)} ${st(x.state)}</h3>${stepsHtml(env, x.steps, `steps-allowance-${esc(x.trainee)}`)}</section>`).join('')}</div>`
    : `<p class="muted" id="allowances">${esc(t('allowances_none'))}</p>`}
    <div id="figures-box">${esc(t('loading'))}</div>`;

  const wire = (form) => {
    // Enter in a field takes no step: a form may hold approve beside return.
    form.onkeydown = (ev) => { if (ev.key === 'Enter' && ev.target.tagName === 'INPUT') ev.preventDefault(); };
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const action = ev.submitter?.dataset.action;
      if (!action) return;
      const say = (msg) => {
        $('#subsidy-notice').innerHTML = `<p class="error" id="subsidy-error">${esc(msg)}</p>`;
      };
      $('#subsidy-notice').innerHTML = '';
      const r = body(form, form.dataset.kind, action);
      if (r.err) {
        say(t(r.err));
        form.elements[r.field]?.focus();
        return;
      }
      form.querySelectorAll('button').forEach((b) => { b.disabled = true; });
      let after;
      try {
        after = await api(path, { method: 'POST', body: r.body });
      } catch (e) {
        form.querySelectorAll('button').forEach((b) => { b.disabled = false; });
        if (e.status !== 401) say(t('refused', { why: e.human ? t('why_both', { m: e.human, e: e.message }) : e.message }));
        return;
      }
      const chain = r.body.kind === 'allowance' ? after.allowances.find((x) => x.trainee === r.body.trainee) : after[r.body.kind];
      const done = t('done', { k: t(r.body.kind), a: t(`action.${action}`), s: t(`state.${chain?.state ?? 'none'}`) });
      delete document.body.dataset.ready;
      await pageProcedure(env, id, `<p class="notice" id="subsidy-done">${esc(done)}</p>`);
    };
  };
  document.querySelectorAll('#subsidy-actions form.act').forEach(wire);
  document.body.dataset.ready = 'procedure';

  // The class's eligibility and amounts (GET /v1/classes/{id}/subsidy checks the city-wide
  // limits: the slowest answer here), drawn when they come; the allowance picker with them.
  const box = $('#figures-box');
  const fig = await api(`/v1/classes/${encodeURIComponent(id)}/subsidy`).catch(() => null);
  if (!box.isConnected) return;
  box.innerHTML = fig ? `<h2>${esc(t('figures'))}</h2><table id="subsidy-figures"><thead><tr><th>${esc(t('masked'))}</th><th>${esc(t('name'))}</th>
    <th>${esc(t('eligibility'))}</th><th class="num">${esc(t('amount'))}</th><th class="num">${esc(t('living'))}</th><th>${esc(t('refusals'))}</th></tr></thead><tbody>
    ${fig.trainees.map((x) => `<tr data-trainee="${esc(x.trainee_masked)}"><td>${esc(x.trainee_masked)}</td><td>${esc(x.name ?? '')}</td>
      <td class="${x.eligible ? '' : 'warn'}">${esc(t(x.eligible ? 'eligible' : 'not_eligible'))}</td><td class="num">${esc(x.amount_yuan)}</td>
      <td class="num">${esc(x.living_allowance_yuan)}</td><td class="refused">${x.refused.map((r) => `<span class="rule" data-rule="${esc(r.rule)}"><code>${esc(r.rule)}</code> ${esc(r.detail)}${r.collides_with ? ` (${esc(t('collides_with', { c: r.collides_with }))})` : ''}</span>`).join('<br>')}</td></tr>`).join('')}
    </tbody><tfoot><tr><td>${esc(t('total'))}</td><td></td><td></td><td class="num">${esc(fig.total_yuan)}</td><td class="num">${esc(fig.living_allowance_yuan)}</td><td></td></tr></tfoot></table>` : '';
  if (picker && $('#allowance-pick')) {
    const taken = new Set(p.allowances.filter((x) => x.state !== 'none' && x.state !== 'returned').map((x) => x.trainee));
    const pick = (fig?.trainees ?? []).map((x) => x.trainee_masked).filter((m) => !taken.has(m));
    $('#allowance-pick').innerHTML = pick.length ? actionForm(env, 'allowance', ['submit'], { pick })
      : `<p class="muted">${esc(t('trainee_none'))}</p>`;
    const form = $('#allowance-pick form.act');
    if (form) wire(form);
  }
  box.dataset.ready = 'ready';
}

// The page: env carries the console's helpers ($, t, esc, api, localTime, me()).
export async function pageSubsidy(env, classId) {
  if (classId) await pageProcedure(env, classId);
  else await pageList(env);
}
