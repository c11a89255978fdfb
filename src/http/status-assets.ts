import { createHash } from 'node:crypto';
import type { Outcome } from '../core/pipeline.js';

/**
 * The status page's inline style and script, and the Content-Security-Policy that allows exactly
 * these two (by hash) and nothing else: no other script, no style attribute, no framing, forms and
 * fetches to this origin only. So even a key that escaped escaping could not run.
 */

/** The chart's plot area inside its viewBox (0 0 800 180); the script draws with the same numbers. */
export const CHART = { width: 800, height: 180, left: 44, right: 790, top: 10, bottom: 150 } as const;

/** Each outcome's line: a colour with at least 4.5:1 contrast on white, and its own dash pattern. */
export const OUTCOME_STYLE: Readonly<Record<Outcome, { color: string; dash: string }>> = {
  success: { color: '#1a7f37', dash: '' },
  duplicate: { color: '#0550ae', dash: '7 3' },
  retry: { color: '#8a4600', dash: '2 3' },
  dead_lettered: { color: '#cf222e', dash: '9 3 2 3' },
  lease_lost: { color: '#8250df', dash: '1 2' },
  payload_mismatch: { color: '#57606a', dash: '12 4' },
};

/** The history chart's lines: received, settled and failed, each with its own colour and dash. */
export const HISTORY_STYLE = {
  received: { color: '#0550ae', dash: '7 3' },
  settled: { color: '#1a7f37', dash: '' },
  failed: { color: '#cf222e', dash: '2 3' },
} as const;

/** The headline's words and classes by state (status-sections.ts renders the same). */
export const STATE = {
  text: { ok: 'Ready', warning: 'Ready, with warnings', not_ready: 'Not ready' },
  className: { ok: 'banner state-ok', warning: 'banner state-warning', not_ready: 'banner state-bad' },
} as const;

/**
 * Column names of the tables that stack at narrow widths (one cell a line, each led by its
 * column's name, as the hidden header would say): by the id of the table's body.
 */
const STACKED_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  'failure-rows': ['Settled', 'Key', 'Outcome', 'Reason', 'Last error', 'Receives'],
  'recent-rows': ['Settled', 'Key', 'Outcome', 'Reason', 'Duration (ms)', 'Receive count'],
};

function stackLabels(): string {
  return Object.entries(STACKED_COLUMNS)
    .flatMap(([id, names]) =>
      names.map((name, i) => `  #${id} td:nth-child(${i + 1})::before { content: "${name}: "; }`),
    )
    .join('\n');
}

export const STATUS_STYLE = `
:root { color-scheme: light; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
  background: #ffffff; margin: 0 auto; max-width: 72rem; padding: 1rem 1.25rem 3rem; }
h1 { font-size: 1.6rem; margin: .5rem 0 .25rem; }
h2 { font-size: 1.2rem; margin: 1.75rem 0 .5rem; border-bottom: 1px solid #d0d7de; padding-bottom: .25rem; }
a { color: #0550ae; }
.muted { color: #57606a; }
#summary { font-weight: 600; margin: .5rem 0 0; }
.grid { display: grid; gap: 0 2rem; grid-template-columns: repeat(auto-fit, minmax(min(20rem, 100%), 1fr)); }
.scroll { overflow-x: auto; max-width: 100%; }
.banner { border: 2px solid; border-radius: 6px; padding: .5rem .75rem; margin: .75rem 0 0; }
.banner p { margin: 0; }
.banner ul { margin: .25rem 0 0; padding-left: 1.25rem; font-weight: 600; }
.banner ul:empty { display: none; }
.state-ok { border-color: #1a7f37; background: #dafbe1; color: #116329; }
.state-warning { border-color: #9a6700; background: #fff8c5; color: #5c3b00; }
.state-bad { border-color: #cf222e; background: #ffebe9; color: #a40e26; }
.err { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .85rem; overflow-wrap: anywhere; }
dl.stats { display: grid; gap: .5rem 1.5rem; margin: 0;
  grid-template-columns: repeat(auto-fit, minmax(min(11rem, 100%), 1fr)); }
.stat dt { color: #57606a; }
.stat dd { margin: 0; }
.keyline { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1.25rem; padding: 0; margin: .25rem 0; }
.swatch { display: inline-block; width: 1.5rem; height: .3rem; vertical-align: middle; margin-right: .4rem; }
.swatch-received { background: ${HISTORY_STYLE.received.color}; }
.swatch-settled { background: ${HISTORY_STYLE.settled.color}; }
.swatch-failed { background: ${HISTORY_STYLE.failed.color}; }
@media (max-width: 40rem) {
  body { padding: .5rem .75rem 2rem; }
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
  table.stack tr { display: block; border-bottom: 1px solid #8c959f; padding: .25rem 0; }
  table.stack td { display: block; border: 0; padding: .1rem .25rem; text-align: left; }
  table.stack td::before { font-weight: 600; color: #57606a; }
  table.stack td[colspan]::before { content: none; }
${stackLabels()}
  input { width: 6rem; }
}
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: #57606a; padding: .25rem 0; }
th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #d0d7de; vertical-align: top; }
thead th { border-bottom: 2px solid #8c959f; }
td.num, th.num { text-align: right; }
.key { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .9rem; word-break: break-all; }
.ok { color: #1a7f37; font-weight: 600; }
.bad { color: #cf222e; font-weight: 600; }
.big { font-size: 1.6rem; font-weight: 600; }
meter { width: 100%; height: 1.25rem; }
svg.chart { width: 100%; height: auto; border: 1px solid #d0d7de; border-radius: 6px; }
svg.chart text { font-size: 11px; fill: #57606a; }
.notice { border: 1px solid #0550ae; background: #ddf4ff; padding: .5rem .75rem; border-radius: 6px; }
.problem { border: 1px solid #cf222e; background: #ffebe9; padding: .5rem .75rem; border-radius: 6px; }
form { display: flex; flex-wrap: wrap; gap: .75rem 1.5rem; align-items: end; }
label { display: flex; flex-direction: column; font-weight: 600; }
input { font: inherit; padding: .3rem .4rem; width: 8rem; border: 1px solid #57606a; border-radius: 4px; }
button { font: inherit; font-weight: 600; padding: .4rem 1rem; color: #ffffff; background: #1a7f37;
  border: 1px solid #116329; border-radius: 6px; cursor: pointer; }
:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
`;

/**
 * Polls GET /status.json and updates the numbers, the chart and the tables in place. It writes
 * text only (textContent, setAttribute on numbers): nothing from the server becomes markup.
 */
export const STATUS_SCRIPT = `
(() => {
  'use strict';
  const G = ${JSON.stringify(CHART)};
  const STATE = ${JSON.stringify(STATE)};
  const pollMs = Number(document.body.dataset.pollMs) || 2000;
  const byId = (id) => document.getElementById(id);
  const put = (id, value) => {
    const el = byId(id);
    const text = value === null || value === undefined ? '\\u2013' : String(value);
    if (el && el.textContent !== text) el.textContent = text;
  };
  const sum = (list) => list.reduce((a, b) => a + b, 0);
  const niceMax = (n) => { let m = 1; while (m < n) m = m * (String(m)[0] === '2' ? 2.5 : 2); return m; };
  const time = (ms) => new Date(ms).toISOString().slice(11, 19);
  const points = (values, max) => {
    const step = (G.right - G.left) / Math.max(1, values.length - 1);
    return values.map((v, i) =>
      (G.left + i * step).toFixed(1) + ',' + (G.bottom - (v / max) * (G.bottom - G.top)).toFixed(1)).join(' ');
  };
  const rows = (id, list, cells, empty, columns) => {
    const body = byId(id);
    if (!body) return;
    const made = list.map((item) => {
      const tr = document.createElement('tr');
      for (const [tag, text, cls] of cells(item)) {
        const cell = document.createElement(tag);
        if (tag === 'th') cell.scope = 'row';
        if (cls) cell.className = cls;
        cell.textContent = text;
        tr.appendChild(cell);
      }
      return tr;
    });
    if (made.length === 0) {
      const tr = document.createElement('tr');
      const td = document.createElement('td');
      td.colSpan = columns;
      td.className = 'muted';
      td.textContent = empty;
      tr.appendChild(td);
      made.push(tr);
    }
    body.replaceChildren(...made);
  };
  const render = (s) => {
    const series = s.outcomes.map((o) => s.perSecond.counts[o]);
    const max = niceMax(Math.max(0, ...series.flat()));
    put('chart-max', max);
    put('chart-mid', max / 2);
    s.outcomes.forEach((o, i) => {
      const counts = series[i];
      const line = byId('line-' + o);
      if (line) line.setAttribute('points', points(counts, max));
      put('rate-' + o, (sum(counts.slice(-10)) / 10).toFixed(1));
      put('last60-' + o, sum(counts));
      put('total-' + o, s.totals[o]);
    });
    put('inflight', s.inFlight);
    const meter = byId('inflight-meter');
    if (meter) meter.value = s.inFlight;
    for (const q of ['main', 'dlq']) {
      for (const state of ['visible', 'in_flight', 'delayed']) put('q-' + q + '-' + state, s.queues[q] ? s.queues[q][state] : null);
    }
    const settled = s.outcomes.filter((o) => s.totals[o] > 0).map((o) => s.totals[o] + ' ' + o);
    const stateText = STATE.text[s.state] + (s.state === 'warning' ? ': ' + s.problems.join('; ') : '');
    put('summary', 'Settled since start: ' + (settled.length === 0 ? 'none' : settled.join(', ')) + '. ' +
      'In flight: ' + s.inFlight + ' of ' + s.maxInFlight + '. ' + stateText + '.');
    renderNight(s);
    const ready = byId('ready-status');
    if (ready) {
      ready.textContent = s.readiness.ok ? 'Ready' : 'Not ready';
      ready.className = s.readiness.ok ? 'ok big' : 'bad big';
    }
    rows('ready-rows', Object.entries(s.readiness.checks), ([name, c]) => [
      ['th', name], ['td', c.ok ? 'ok' : 'failing', c.ok ? 'ok' : 'bad'], ['td', c.detail || ''],
    ], 'No checks.', 3);
    if (s.recent) {
      rows('recent-rows', s.recent, (r) => [
        ['td', time(r.at)], ['td', r.key, 'key'], ['td', r.outcome], ['td', r.reason || ''],
        ['td', String(r.durationMs), 'num'], ['td', String(r.receiveCount), 'num'],
      ], 'No message settled yet.', 6);
    }
  };
  const renderNight = (s) => {
    put('state-headline', STATE.text[s.state]);
    const banner = byId('state-banner');
    if (banner) banner.className = STATE.className[s.state];
    const problems = byId('problems');
    if (problems) problems.replaceChildren(...s.problems.map((p) => {
      const li = document.createElement('li');
      li.textContent = p;
      return li;
    }));
    rows('failure-rows', s.failures, (f) => [
      ['td', time(f.at)], ['td', f.key === null ? 'hidden' : f.key, f.key === null ? 'key muted' : 'key'],
      ['td', f.outcome, 'bad'], ['td', f.reason || ''], ['td', f.error || '', 'err'],
      ['td', String(f.receiveCount), 'num'],
    ], 'No failure since the start.', 6);
    put('rate-in', s.rates.inPerSecond.toFixed(1));
    put('rate-out', s.rates.outPerSecond.toFixed(1));
    put('handler-p50', s.handler.p50Ms);
    put('handler-p99', s.handler.p99Ms);
    put('handler-runs', s.handler.runs);
    put('oldest-age', s.oldestAge.seconds === null ? null : s.oldestAge.seconds.toFixed(1));
    const h = s.history;
    const hmax = niceMax(Math.max(0, ...h.received, ...h.settled, ...h.failed));
    put('hist-max', hmax);
    for (const name of ['received', 'settled', 'failed']) {
      const line = byId('hist-' + name);
      if (line) line.setAttribute('points', points(h[name], hmax));
      put('sum-' + name, sum(h[name]));
    }
    put('hist-age', Math.max(0, ...h.oldestAgeSeconds).toFixed(1));
    const fresh = byId('q-fresh');
    if (fresh) fresh.className = s.queues.stale ? 'problem' : 'muted';
    put('q-fresh', freshness(s));
  };
  const freshness = (s) => {
    const q = s.queues;
    if (q.intervalSeconds === 0) return 'Depths are not read (QUEUE_METRICS_INTERVAL=0).';
    const last = q.lastReadAt === null ? 'Not read successfully yet'
      : 'Last read ' + time(q.lastReadAt) + ' UTC, ' + Math.max(0, Math.round((s.at - q.lastReadAt) / 1000)) + ' s ago';
    const stale = q.stale ? 'STALE (older than ' + q.staleAfterSeconds + ' s): ' : '';
    return stale + last + '.' + (q.readError === null ? '' : ' Reads fail: ' + q.readError);
  };
  const tick = async () => {
    let wait = pollMs;
    try {
      const res = await fetch('/status.json', { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (res.status === 429) wait = (Number(res.headers.get('retry-after')) || 10) * 1000;
      if (!res.ok) throw new Error('the server answered ' + res.status);
      render(await res.json());
      put('updated', 'Live: updated ' + time(Date.now()) + ' UTC, every ' + pollMs / 1000 + ' s.');
    } catch (error) {
      put('updated', 'Live updates paused (' + error.message + '); trying again.');
    }
    setTimeout(tick, wait);
  };
  tick();
})();
`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

export const STATUS_CSP = [
  "default-src 'none'",
  `script-src ${sha256(STATUS_SCRIPT)}`,
  `style-src ${sha256(STATUS_STYLE)}`,
  "connect-src 'self'",
  // The page has no images; the favicon is an empty data: URL (no request, no 404 in the console).
  'img-src data:',
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Headers of every HTML answer of the status page. */
export const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': STATUS_CSP,
  'x-content-type-options': 'nosniff',
  // Not no-referrer: with it Chromium sends `Origin: null` on the form's post, which the CSRF
  // check (status-access.ts) must refuse. same-origin tells nothing to other sites either.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
} as const;
