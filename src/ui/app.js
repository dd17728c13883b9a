// standin inspector: a read-only view of the journal, violations, coverage, state, webhook
// deliveries and mounted specs. Plain browser JavaScript, no build step, no outside resources.
//
// Data comes from the JSON admin endpoints under /__standin/, polled while a tab shows it.
// Every value from the server is rendered as text (textContent), never parsed as markup: the
// journal holds whatever clients sent. The one exception is the coverage tab, whose HTML the
// server renders with everything escaped.
//
// Deep links: #/exchanges?method=POST&path=/api, #/exchange/12, #/coverage, #/violations, …
'use strict';

const ADMIN = '/__standin/';
const POLL_MS = 1000;
const SLOW_POLL_MS = 2500;

const state = {
  tab: 'exchanges',
  selected: null,      // id of the exchange shown in detail
  filters: {},
  specs: [],           // /__standin/specs
  paused: false,
  listKey: '',         // what the exchange list was last drawn from
  lastSlow: {},        // tab → time of its last poll
};

// --- Small DOM helpers -----------------------------------------------------------------------

/** An element with attributes (`class`, `data-*`, `title`, …) and children (strings become text). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'onclick') el.addEventListener('click', v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const $ = (id) => document.getElementById(id);

/**
 * The admin token (`serve --admin-token`), given once as `?token=` in the page's address: kept
 * for this tab (reloads keep working) and taken out of the address bar.
 */
const TOKEN = (() => {
  const KEY = 'standin-admin-token';
  const q = new URLSearchParams(location.search);
  const given = q.get('token');
  try {
    if (!given) return sessionStorage.getItem(KEY);
    sessionStorage.setItem(KEY, given);
  } catch (_) { /* storage off: the token lives as long as the page */ }
  q.delete('token');
  const rest = q.toString();
  history.replaceState(null, '', location.pathname + (rest ? '?' + rest : '') + location.hash);
  return given;
})();

/** GET an admin endpoint as JSON (or text), with the admin token when there is one. */
async function api(path, params, asText) {
  const qs = new URLSearchParams(params || {}).toString();
  const headers = { accept: asText ? 'text/html' : 'application/json' };
  if (TOKEN) headers['x-standin-admin-token'] = TOKEN;
  const resp = await fetch(ADMIN + path + (qs ? '?' + qs : ''), { headers, cache: 'no-store' });
  if (!resp.ok) throw new Error(`${path}: ${resp.status}`);
  return asText ? resp.text() : resp.json();
}

function statusClass(s) {
  if (s >= 500) return 's5';
  if (s >= 400) return 's4';
  if (s >= 300) return 's3';
  return 's2';
}

function timeOf(iso) {
  const m = /T(\d\d:\d\d:\d\d)/.exec(iso || '');
  return m ? m[1] : '';
}

/** The mounted spec a path belongs to (longest base path first), for several specs on a port. */
function specOf(path) {
  let best = null;
  for (const s of state.specs) {
    const b = s.basePath || '';
    if ((path === b || path.startsWith(b + '/') || b === '') && (!best || b.length > (best.basePath || '').length)) best = s;
  }
  return best ? best.title : '';
}

// --- Routing (the hash) ----------------------------------------------------------------------

function readHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [route, query] = raw.split('?');
  const parts = route.split('/');
  const filters = Object.fromEntries(new URLSearchParams(query || ''));
  if (parts[0] === 'exchange' && parts[1]) {
    state.tab = 'exchanges';
    state.selected = Number(parts[1]);
  } else {
    state.tab = ['exchanges', 'violations', 'coverage', 'state', 'webhooks', 'specs'].includes(parts[0]) ? parts[0] : 'exchanges';
  }
  if (state.tab === 'exchanges') {
    state.filters = filters;
    const form = $('filters');
    for (const el of form.elements) if (el.name) el.value = filters[el.name] || '';
  }
  showTab();
}

function showTab() {
  for (const a of document.querySelectorAll('#tabs a')) a.classList.toggle('active', a.dataset.tab === state.tab);
  for (const s of document.querySelectorAll('main > .tab')) s.hidden = s.id !== 'tab-' + state.tab;
  state.listKey = '';
  state.lastSlow = {};
  poll();
}

function filterHash() {
  const q = new URLSearchParams(Object.entries(state.filters).filter(([, v]) => v)).toString();
  return '#/exchanges' + (q ? '?' + q : '');
}

// --- Exchanges -------------------------------------------------------------------------------

async function pollExchanges() {
  const list = await api('requests', Object.fromEntries(Object.entries(state.filters).filter(([, v]) => v)));
  $('count-exchanges').textContent = list.length ? String(list.length) : '';
  const nViolations = list.filter((e) => e.violations && e.violations.length).length;
  if (!Object.values(state.filters).some(Boolean)) $('count-violations').textContent = nViolations ? String(nViolations) : '';
  const key = list.length + ':' + (list.length ? list[list.length - 1].id + ':' + list[0].id : '') + ':' + state.selected;
  if (key === state.listKey) return;
  state.listKey = key;
  const several = state.specs.length > 1;
  document.body.classList.toggle('several-specs', several);
  const body = clear($('exchanges').tBodies[0]);
  $('exchanges-empty').hidden = list.length > 0;
  for (const e of list.slice().reverse()) {
    const problems = (e.violations || []).length;
    const tr = h('tr', { 'data-id': e.id, class: (e.id === state.selected ? 'selected ' : '') + (problems ? 'has-problems' : ''), onclick: () => select(e.id) },
      h('td', { class: 'num' }, e.id),
      h('td', { title: e.startedAt }, timeOf(e.startedAt)),
      h('td', { class: 'method' }, e.method),
      h('td', { class: 'path', title: e.path + (e.query ? '?' + e.query : '') }, e.path),
      h('td', {}, h('span', { class: 'status ' + statusClass(e.status) }, e.status)),
      h('td', { class: 'num' }, e.durationMs.toFixed(1)),
      h('td', { class: 'mono' }, e.tenant || ''),
      h('td', {}, e.operation || h('span', { class: 'dim' }, '(no operation)')),
      h('td', { class: 'dim' }, e.source || ''),
      h('td', { class: 'spec-col dim' }, several ? specOf(e.path) : ''),
      h('td', {}, problems ? h('span', { class: 'badge bad' }, problems) : ''));
    body.append(tr);
  }
}

function select(id) {
  location.hash = '#/exchange/' + id;
}

async function showDetail(id) {
  const pane = $('detail');
  if (pane.dataset.id === String(id)) return;
  let d;
  try {
    d = await api('requests/' + id);
  } catch (err) {
    clear(pane).append(h('p', { class: 'empty' }, `Exchange ${id} is no longer in the journal.`));
    pane.dataset.id = String(id);
    return;
  }
  pane.dataset.id = String(id);
  clear(pane).append(renderDetail(d));
}

/** Problems by side: `request` (what the client sent) and `response` (what was answered). */
function splitProblems(violations) {
  const out = { request: [], response: [] };
  for (const p of violations || []) {
    if (p.location.startsWith('response.') || p.location === 'response') out.response.push({ ...p, location: p.location.replace(/^response\.?/, '') });
    else out.request.push({ ...p, location: p.location.replace(/^request\.?/, '') });
  }
  return out;
}

function renderDetail(d) {
  const problems = splitProblems(d.violations);
  const total = (d.violations || []).length;
  const top = h('div', { class: 'detail-head' },
    h('div', { class: 'reqline' },
      h('span', { class: 'method' }, d.method), ' ',
      h('span', { class: 'path' }, d.path), ' → ',
      h('span', { class: 'status ' + statusClass(d.status) }, d.status)),
    h('dl', { class: 'facts' },
      fact('exchange', '#' + d.id), fact('at', d.startedAt), fact('took', d.durationMs.toFixed(2) + ' ms'),
      fact('operation', d.operation || '(none)'), fact('source', d.source || '–'), fact('tenant', d.tenant || '–'),
      d.spec ? fact('spec', d.spec) : null));
  const summary = total
    ? h('div', { class: 'problems-box', id: 'problems' },
        h('strong', {}, total === 1 ? '1 problem' : `${total} problems`), ' — each is shown next to the field it concerns:',
        h('ul', {}, (d.violations || []).map((p) => h('li', { class: 'jump', title: 'show it on its field', onclick: () => jumpTo(p.location) }, h('code', {}, p.location), ': ', p.message, p.keyword ? h('span', { class: 'dim' }, ` (${p.keyword})`) : ''))))
    : null;
  const req = h('section', { class: 'side' }, h('h3', {}, 'Request'));
  const placer = new Placer(problems.request);
  req.append(pathBlock(d, placer));
  req.append(pairsTable('Query parameters', d.request.query, 'query', placer));
  req.append(pairsTable('Headers', d.request.headers, 'header', placer));
  req.append(bodyBlock(d.request.body, placer));
  placer.finish(req);

  const res = h('section', { class: 'side' }, h('h3', {}, 'Response'));
  const rplacer = new Placer(problems.response);
  const statusLine = h('div', { class: 'line', 'data-loc': 'status' }, 'status ', h('span', { class: 'status ' + statusClass(d.status) }, d.status));
  rplacer.target('status', statusLine);
  res.append(h('div', { class: 'block' }, statusLine));
  if (d.response.kept) {
    res.append(pairsTable('Headers', d.response.headers, 'header', rplacer));
    res.append(bodyBlock(d.response.body, rplacer));
  } else {
    res.append(h('p', { class: 'dim' }, 'The response headers and body were not kept (serve --no-journal-responses, or a journal started without them).'));
  }
  rplacer.finish(res);
  return h('div', {}, top, summary, h('div', { class: 'sides' }, req, res));
}

/** Scroll the detail pane to the note of a problem. */
function jumpTo(location) {
  const bare = location.replace(/^(request|response)\./, '');
  const note = [...document.querySelectorAll('#detail .problem')].find((n) => n.dataset.loc === bare);
  if (note) {
    note.scrollIntoView({ block: 'center' });
    note.classList.add('flash');
    setTimeout(() => note.classList.remove('flash'), 900);
  }
}

function fact(k, v) {
  return h('div', {}, h('dt', {}, k), h('dd', {}, v));
}

/**
 * Places problems on the rendered element of their location (`body.items[0].sku`,
 * `query.limit`, `header.x-request-id`), or on the nearest rendered ancestor when the field
 * itself is absent (a required member not sent: `body.name` goes on `body`).
 */
class Placer {
  constructor(problems) {
    this.problems = problems;
    this.targets = new Map();
    this.placed = new Map();
  }
  target(loc, el) {
    if (!this.targets.has(loc)) this.targets.set(loc, el);
  }
  finish(container) {
    const rest = [];
    for (const p of this.problems) {
      let loc = p.location;
      let el = this.targets.get(loc);
      while (!el && loc) {
        const cut = Math.max(loc.lastIndexOf('.'), loc.lastIndexOf('['));
        if (cut <= 0) break;
        loc = loc.slice(0, cut);
        el = this.targets.get(loc);
      }
      if (!el) {
        rest.push(p);
        continue;
      }
      el.classList.add('has-problem');
      const note = h('div', { class: 'problem', 'data-loc': p.location },
        '⚠ ', loc !== p.location ? h('code', {}, p.location.slice(loc.length).replace(/^\./, '') + ': ') : '',
        p.message, p.keyword ? h('span', { class: 'dim' }, ` (${p.keyword})`) : '');
      // After the notes already placed there, so they read in the server's order.
      if (el.lastRow) {
        el.after(note); // a table row target keeps its own order
      } else {
        (this.placed.get(el) || el).after(note);
        this.placed.set(el, note);
      }
    }
    if (rest.length) {
      container.append(h('div', { class: 'block' }, h('h4', {}, 'Other problems'),
        rest.map((p) => h('div', { class: 'problem', 'data-loc': p.location }, '⚠ ', h('code', {}, p.location || '(request)'), ': ', p.message))));
    }
  }
}

function pathBlock(d, placer) {
  const line = h('div', { class: 'line mono', 'data-loc': 'path' }, d.method, ' ', d.path);
  placer.target('path', line);
  return h('div', { class: 'block' }, h('h4', {}, 'Path'), line);
}

function pairsTable(title, pairs, prefix, placer) {
  const rows = [];
  const addRow = (loc, name, cell, cls) => {
    const tr = h('tr', { 'data-loc': loc, class: cls || null }, h('th', {}, name), cell);
    rows.push(tr);
    placer.target(loc, rowTarget(tr));
  };
  for (const [k, v] of pairs || []) addRow(prefix + '.' + (prefix === 'header' ? k.toLowerCase() : k), k, h('td', { class: 'mono' }, v));
  // A problem on a parameter that was not sent (a required one) gets a row of its own.
  for (const p of placer.problems) {
    if (!p.location.startsWith(prefix + '.')) continue;
    const name = p.location.slice(prefix.length + 1).split(/[.[]/)[0];
    if (!placer.targets.has(prefix + '.' + name)) addRow(prefix + '.' + name, name, h('td', { class: 'dim' }, '(not sent)'), 'absent');
  }
  // Cookie problems (`cookie.session`) belong on the Cookie header.
  if (prefix === 'header' && placer.targets.has('header.cookie')) placer.target('cookie', placer.targets.get('header.cookie'));
  const block = h('div', { class: 'block' }, h('h4', {}, title));
  block.append(rows.length ? h('table', { class: 'pairs' }, h('tbody', {}, rows)) : h('p', { class: 'dim' }, 'none'));
  return block;
}

/** A table row as a problem target: the note goes in a row of its own below it. */
function rowTarget(tr) {
  const target = { classList: tr.classList, lastRow: tr, after: (note) => {
    const row = h('tr', { class: 'problem-row' }, h('td', { colspan: 2 }, note));
    target.lastRow.after(row);
    target.lastRow = row;
  } };
  return target;
}

function bodyBlock(b, placer) {
  const block = h('div', { class: 'block' });
  const size = b && b.size !== null && b.size !== undefined ? `${b.size} bytes` : 'more than 64 KiB';
  block.append(h('h4', {}, 'Body ', h('span', { class: 'dim' }, b && (b.size || b.truncated) ? `${b.contentType || ''} · ${size}` : '')));
  if (b && b.truncated) block.append(h('p', { class: 'truncated' }, '✂ truncated: the first 64 KiB are shown.'));
  const pre = h('pre', { class: 'json' });
  if (!b || (!b.size && !b.truncated)) {
    const line = h('div', { class: 'line dim', 'data-loc': 'body' }, '(no body)');
    placer.target('body', line);
    pre.append(line);
  } else if ('json' in b) {
    renderJson(pre, b.json, 'body', null, 0, true, placer);
  } else if (b.form) {
    const line = h('div', { class: 'line', 'data-loc': 'body' }, '(form)');
    placer.target('body', line);
    pre.append(line);
    for (const [k, v] of b.form) {
      const l = h('div', { class: 'line', 'data-loc': 'body.' + k }, '  ', h('span', { class: 'k' }, k), ' = ', h('span', { class: 'str' }, v));
      placer.target('body.' + k, l);
      pre.append(l);
    }
  } else if (b.binary) {
    const line = h('div', { class: 'line dim', 'data-loc': 'body' }, '(binary data)');
    placer.target('body', line);
    pre.append(line);
  } else {
    const line = h('div', { class: 'line', 'data-loc': 'body' }, b.text);
    placer.target('body', line);
    pre.append(line);
  }
  block.append(pre);
  return block;
}

/** Pretty-print JSON as one line element per member, each tagged with its location. */
function renderJson(out, v, loc, key, depth, last, placer) {
  const pad = '  '.repeat(depth);
  const comma = last ? '' : ',';
  const keyPart = key === null ? [] : [h('span', { class: 'k' }, JSON.stringify(key)), ': '];
  if (v !== null && typeof v === 'object') {
    const isArr = Array.isArray(v);
    const entries = isArr ? v.map((x, i) => [i, x]) : Object.entries(v);
    const [open, close] = isArr ? ['[', ']'] : ['{', '}'];
    if (!entries.length) {
      const line = h('div', { class: 'line', 'data-loc': loc }, pad, keyPart, open + close + comma);
      placer && placer.target(loc, line);
      out.append(line);
      return;
    }
    const line = h('div', { class: 'line', 'data-loc': loc }, pad, keyPart, open);
    placer && placer.target(loc, line);
    out.append(line);
    entries.forEach(([k, x], i) => {
      const child = isArr ? `${loc}[${k}]` : `${loc}.${k}`;
      renderJson(out, x, child, isArr ? null : k, depth + 1, i === entries.length - 1, placer);
    });
    out.append(h('div', { class: 'line' }, pad, close + comma));
    return;
  }
  const cls = v === null ? 'null' : typeof v === 'string' ? 'str' : typeof v === 'number' ? 'num' : 'bool';
  const line = h('div', { class: 'line', 'data-loc': loc }, pad, keyPart, h('span', { class: cls }, JSON.stringify(v)), comma);
  placer && placer.target(loc, line);
  out.append(line);
}

// --- Violations ------------------------------------------------------------------------------

async function pollViolations() {
  const list = await api('violations');
  $('count-violations').textContent = list.length ? String(list.length) : '';
  const box = clear($('violations'));
  if (!list.length) {
    box.append(h('p', { class: 'empty' }, 'No request has broken the contract.'));
    return;
  }
  box.append(h('table', { class: 'list' },
    h('thead', {}, h('tr', {}, h('th', {}, '#'), h('th', {}, 'time'), h('th', {}, 'request'), h('th', {}, 'status'), h('th', {}, 'operation'), h('th', {}, 'problems'))),
    h('tbody', {}, list.slice().reverse().map((e) => h('tr', { 'data-id': e.id, onclick: () => select(e.id) },
      h('td', { class: 'num' }, e.id), h('td', {}, timeOf(e.startedAt)),
      h('td', { class: 'mono' }, e.method + ' ' + e.path),
      h('td', {}, h('span', { class: 'status ' + statusClass(e.status) }, e.status)),
      h('td', {}, e.operation || ''),
      h('td', {}, h('ul', { class: 'plain' }, e.violations.map((p) => h('li', {}, h('code', {}, p.location), ': ', p.message)))))))));
}

// --- Coverage --------------------------------------------------------------------------------

async function pollCoverage() {
  const html = await api('coverage', { format: 'fragment' }, true);
  const box = $('coverage');
  // Rendered by standin with every value escaped (src/ui/report.rs); keep open <details>.
  const open = new Set([...box.querySelectorAll('details[open]')].map((d) => d.dataset.operation));
  box.innerHTML = html;
  for (const d of box.querySelectorAll('details')) if (open.has(d.dataset.operation)) d.open = true;
}

// --- State -----------------------------------------------------------------------------------

async function pollState() {
  const all = await api('state');
  const box = clear($('state'));
  const specs = Object.entries(all);
  if (!specs.length) {
    box.append(h('p', { class: 'empty' }, 'No sandbox (serve --stateless), or no spec has stored state.'));
    return;
  }
  for (const [title, tenants] of specs) {
    box.append(h('h2', {}, title));
    const names = Object.entries(tenants);
    if (!names.length) box.append(h('p', { class: 'dim' }, 'No tenant has called yet.'));
    for (const [tenant, collections] of names) {
      const t = h('div', { class: 'tenant' }, h('h3', {}, 'tenant ', h('code', {}, tenant)));
      if (!Object.keys(collections).length) t.append(h('p', { class: 'dim' }, 'Nothing stored yet.'));
      for (const [name, items] of Object.entries(collections)) {
        const pre = h('pre', { class: 'json' });
        renderJson(pre, items.slice(0, 50), '', null, 0, true, null);
        t.append(h('details', {}, h('summary', {}, h('code', {}, name), ` — ${items.length} item${items.length === 1 ? '' : 's'}${items.length > 50 ? ' (first 50 shown)' : ''}`), pre));
      }
      box.append(t);
    }
  }
}

// --- Webhooks --------------------------------------------------------------------------------

async function pollWebhooks() {
  const list = await api('webhooks');
  $('count-webhooks').textContent = list.length ? String(list.length) : '';
  const box = clear($('webhooks'));
  if (!list.length) {
    box.append(h('p', { class: 'empty' }, 'No webhook delivered yet.'));
    return;
  }
  box.append(h('table', { class: 'list' },
    h('thead', {}, h('tr', {}, h('th', {}, 'delivery'), h('th', {}, 'event'), h('th', {}, 'receiver'), h('th', {}, 'status'), h('th', {}, 'attempts'))),
    h('tbody', {}, list.slice().reverse().map((w) => h('tr', {},
      h('td', { class: 'mono' }, w.id), h('td', {}, w.event), h('td', { class: 'mono' }, w.url),
      h('td', {}, h('span', { class: 'wh ' + w.status }, w.status)),
      h('td', {}, h('ol', { class: 'plain' }, (w.attempts || []).map((a) => h('li', {},
        timeOf(new Date(a.at * 1000).toISOString()), ' ',
        a.status !== undefined ? h('span', { class: 'status ' + statusClass(a.status) }, a.status) : h('span', { class: 'bad' }, a.error || 'error'))))))))));
}

// --- Specs -----------------------------------------------------------------------------------

async function loadSpecs() {
  state.specs = await api('specs');
  $('specs-line').textContent = state.specs.map((s) => `${s.title} ${s.version} at ${s.basePath || '/'}`).join(' · ');
  const dl = clear($('operations'));
  for (const s of state.specs) for (const r of s.routes || []) dl.append(h('option', { value: r.operation }));
}

function renderSpecs() {
  const box = clear($('specs'));
  for (const s of state.specs) {
    box.append(h('h2', {}, s.title, ' ', h('span', { class: 'dim' }, `${s.version} · OpenAPI ${s.openapi} · ${s.file}`)));
    box.append(h('p', {}, 'Served under ', h('code', {}, s.basePath || '/'), ` · ${s.operations} operations`));
    box.append(h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, h('th', {}, 'method'), h('th', {}, 'path'), h('th', {}, 'operation'), h('th', {}, 'declared statuses'), h('th', {}, 'summary'))),
      h('tbody', {}, (s.routes || []).map((r) => h('tr', {},
        h('td', { class: 'method' }, r.method), h('td', { class: 'mono' }, r.path),
        h('td', {}, h('a', { href: '#/exchanges?operation=' + encodeURIComponent(r.operation) }, r.operation)),
        h('td', {}, r.statuses.join(' ')), h('td', { class: 'dim' }, r.summary || ''))))));
  }
}

// --- Polling ---------------------------------------------------------------------------------

let polling = false;
async function poll() {
  if (polling || state.paused) return;
  polling = true;
  const now = Date.now();
  const due = (tab, every) => {
    if ((state.lastSlow[tab] || 0) + every > now) return false;
    state.lastSlow[tab] = now;
    return true;
  };
  try {
    if (!state.specs.length || due('specs-reload', 10000)) await loadSpecs();
    await pollExchanges();
    if (state.tab === 'exchanges' && state.selected !== null) await showDetail(state.selected);
    if (state.tab === 'violations') await pollViolations();
    if (state.tab === 'coverage' && due('coverage', SLOW_POLL_MS)) await pollCoverage();
    if (state.tab === 'state' && due('state', SLOW_POLL_MS)) await pollState();
    if (state.tab === 'webhooks' && due('webhooks', SLOW_POLL_MS)) await pollWebhooks();
    if (state.tab === 'specs' && due('specs', 10000)) renderSpecs();
    $('live-dot').className = 'dot ok';
    $('live-text').textContent = 'live · ' + new Date().toLocaleTimeString();
  } catch (err) {
    $('live-dot').className = 'dot down';
    $('live-text').textContent = 'server not answering (' + err.message + ')';
  } finally {
    polling = false;
  }
}

function start() {
  window.addEventListener('hashchange', readHash);
  $('filters').addEventListener('input', (ev) => {
    const form = ev.currentTarget;
    state.filters = Object.fromEntries([...form.elements].filter((e) => e.name).map((e) => [e.name, e.value.trim()]));
    history.replaceState(null, '', filterHash());
    state.listKey = '';
    poll();
  });
  $('filters').addEventListener('reset', () => setTimeout(() => {
    state.filters = {};
    history.replaceState(null, '', '#/exchanges');
    state.listKey = '';
    poll();
  }));
  $('filters').addEventListener('submit', (ev) => ev.preventDefault());
  $('pause').addEventListener('click', () => {
    state.paused = !state.paused;
    $('pause').textContent = state.paused ? 'resume' : 'pause';
    $('live-text').textContent = state.paused ? 'paused' : 'resuming…';
    if (!state.paused) poll();
  });
  readHash();
  setInterval(poll, POLL_MS);
}

start();
