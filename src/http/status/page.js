/*
 * The status page's only script: polls GET /status.json and updates the numbers, the chart and
 * the tables in place. It writes text only (textContent, setAttribute on numbers): nothing from the
 * server becomes markup. status-assets.ts inlines this file, with a call of startStatusPage, inside
 * one arrow function (so nothing here becomes a global of the page); the Content-Security-Policy
 * allows exactly that script, by its hash.
 */
'use strict';
/* exported startStatusPage -- called by the line status-assets.ts appends */

/**
 * Starts polling. `G`: the chart's plot area (CHART in status-assets.ts); `STATE`: the headline's
 * words and classes by state (STATE there).
 */
function startStatusPage(G, STATE) {
  const pollMs = Number(document.body.dataset.pollMs) || 2000;
  const tick = async () => {
    let wait = pollMs;
    try {
      const res = await fetch('/status.json', { headers: { accept: 'application/json' }, cache: 'no-store' });
      if (res.status === 429) wait = (Number(res.headers.get('retry-after')) || 10) * 1000;
      if (!res.ok) throw new Error('the server answered ' + res.status);
      render(await res.json(), G, STATE);
      put('updated', 'Live: updated ' + time(Date.now()) + ' UTC, every ' + pollMs / 1000 + ' s.');
    } catch (error) {
      put('updated', 'Live updates paused (' + error.message + '); trying again.');
    }
    setTimeout(tick, wait);
  };
  tick();
}

const byId = (id) => document.getElementById(id);

const put = (id, value) => {
  const el = byId(id);
  const text = value === null || value === undefined ? '\u2013' : String(value);
  if (el && el.textContent !== text) el.textContent = text;
};

const sum = (list) => list.reduce((a, b) => a + b, 0);

const niceMax = (n) => {
  let m = 1;
  while (m < n) m = m * (String(m)[0] === '2' ? 2.5 : 2);
  return m;
};

const time = (ms) => new Date(ms).toISOString().slice(11, 19);

const points = (G, values, max) => {
  const step = (G.right - G.left) / Math.max(1, values.length - 1);
  return values
    .map(
      (v, i) => (G.left + i * step).toFixed(1) + ',' + (G.bottom - (v / max) * (G.bottom - G.top)).toFixed(1),
    )
    .join(' ');
};

/** Replaces the rows of the table body `id`: one row per item, `cells` gives [tag, text, class]. */
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

const render = (s, G, STATE) => {
  renderThroughput(s, G);
  put('inflight', s.inFlight);
  const meter = byId('inflight-meter');
  if (meter) meter.value = s.inFlight;
  for (const q of ['main', 'dlq']) {
    for (const state of ['visible', 'in_flight', 'delayed'])
      put('q-' + q + '-' + state, s.queues[q] ? s.queues[q][state] : null);
  }
  const settled = s.outcomes.filter((o) => s.totals[o] > 0).map((o) => s.totals[o] + ' ' + o);
  const stateText = STATE.text[s.state] + (s.state === 'warning' ? ': ' + s.problems.join('; ') : '');
  put(
    'summary',
    'Settled since start: ' +
      (settled.length === 0 ? 'none' : settled.join(', ')) +
      '. ' +
      'In flight: ' +
      s.inFlight +
      ' of ' +
      s.maxInFlight +
      '. ' +
      stateText +
      '.',
  );
  renderNight(s, G, STATE);
  renderReadiness(s);
};

/** The outcomes' chart and their rates, counts and totals. */
const renderThroughput = (s, G) => {
  const series = s.outcomes.map((o) => s.perSecond.counts[o]);
  const max = niceMax(Math.max(0, ...series.flat()));
  put('chart-max', max);
  put('chart-mid', max / 2);
  s.outcomes.forEach((o, i) => {
    const counts = series[i];
    const line = byId('line-' + o);
    if (line) line.setAttribute('points', points(G, counts, max));
    put('rate-' + o, (sum(counts.slice(-10)) / 10).toFixed(1));
    put('last60-' + o, sum(counts));
    put('total-' + o, s.totals[o]);
  });
};

/** The readiness checks and, when the viewer may see keys, the recent deliveries. */
const renderReadiness = (s) => {
  const ready = byId('ready-status');
  if (ready) {
    ready.textContent = s.readiness.ok ? 'Ready' : 'Not ready';
    ready.className = s.readiness.ok ? 'ok big' : 'bad big';
  }
  rows(
    'ready-rows',
    Object.entries(s.readiness.checks),
    ([name, c]) => [
      ['th', name],
      ['td', c.ok ? 'ok' : 'failing', c.ok ? 'ok' : 'bad'],
      ['td', c.detail || ''],
    ],
    'No checks.',
    3,
  );
  if (s.recent) {
    rows(
      'recent-rows',
      s.recent,
      (r) => [
        ['td', time(r.at)],
        ['td', r.key, 'key'],
        ['td', r.outcome],
        ['td', r.reason || ''],
        ['td', String(r.durationMs), 'num'],
        ['td', String(r.receiveCount), 'num'],
      ],
      'No message settled yet.',
      6,
    );
  }
};

/** What the night shift reads first: the state, the failures, the rates and the history. */
const renderNight = (s, G, STATE) => {
  put('state-headline', STATE.text[s.state]);
  const banner = byId('state-banner');
  if (banner) banner.className = STATE.className[s.state];
  const problems = byId('problems');
  if (problems)
    problems.replaceChildren(
      ...s.problems.map((p) => {
        const li = document.createElement('li');
        li.textContent = p;
        return li;
      }),
    );
  rows(
    'failure-rows',
    s.failures,
    (f) => [
      ['td', time(f.at)],
      ['td', f.key === null ? 'hidden' : f.key, f.key === null ? 'key muted' : 'key'],
      ['td', f.outcome, 'bad'],
      ['td', f.reason || ''],
      ['td', f.error || '', 'err'],
      ['td', String(f.receiveCount), 'num'],
    ],
    'No failure since the start.',
    6,
  );
  put('rate-in', s.rates.inPerSecond.toFixed(1));
  put('rate-out', s.rates.outPerSecond.toFixed(1));
  put('handler-p50', s.handler.p50Ms);
  put('handler-p99', s.handler.p99Ms);
  put('handler-runs', s.handler.runs);
  put('oldest-age', s.oldestAge.seconds === null ? null : s.oldestAge.seconds.toFixed(1));
  renderHistory(s, G);
  const fresh = byId('q-fresh');
  if (fresh) fresh.className = s.queues.stale ? 'problem' : 'muted';
  put('q-fresh', freshness(s));
};

/** The history chart: received, settled and failed per interval, and the oldest message's age. */
const renderHistory = (s, G) => {
  const h = s.history;
  const hmax = niceMax(Math.max(0, ...h.received, ...h.settled, ...h.failed));
  put('hist-max', hmax);
  for (const name of ['received', 'settled', 'failed']) {
    const line = byId('hist-' + name);
    if (line) line.setAttribute('points', points(G, h[name], hmax));
    put('sum-' + name, sum(h[name]));
  }
  put('hist-age', Math.max(0, ...h.oldestAgeSeconds).toFixed(1));
};

const freshness = (s) => {
  const q = s.queues;
  if (q.intervalSeconds === 0) return 'Depths are not read (QUEUE_METRICS_INTERVAL=0).';
  const last =
    q.lastReadAt === null
      ? 'Not read successfully yet'
      : 'Last read ' +
        time(q.lastReadAt) +
        ' UTC, ' +
        Math.max(0, Math.round((s.at - q.lastReadAt) / 1000)) +
        ' s ago';
  const stale = q.stale ? 'STALE (older than ' + q.staleAfterSeconds + ' s): ' : '';
  return stale + last + '.' + (q.readError === null ? '' : ' Reads fail: ' + q.readError);
};
