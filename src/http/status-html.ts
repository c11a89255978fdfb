import type { Outcome } from '../core/pipeline.js';
import type { SettledEntry } from '../observability/recent.js';
import { CHART, OUTCOME_STYLE, STATUS_SCRIPT, STATUS_STYLE } from './status-assets.js';
import { QUEUE_STATES, type StatusSnapshot } from './status-data.js';
import { banner, depthFreshness, failures, flow, history, STATE_TEXT } from './status-sections.js';
import { esc, niceMax, points, sum, time } from './status-text.js';

export { esc, niceMax };

/**
 * The status page as HTML, rendered on the server so that it works without JavaScript; the
 * inline script (status-assets.ts) then keeps the numbers live. Every value from outside (keys,
 * reasons, check details, error messages) goes through `esc`.
 */

export interface SeedFormView {
  /** Whether the form is shown (embedded mode and the viewer may seed), else why not. */
  readonly state:
    { readonly shown: true } | { readonly shown: false; readonly why: string; readonly signIn: boolean };
  /** The answer of the last seed, after the form's redirect. */
  readonly result?: { readonly sent: number; readonly unique: number; readonly duplicates: number };
}

export interface PageView {
  readonly snapshot: StatusSnapshot;
  /** Whether recent keys are hidden because the viewer has not signed in (offer the link). */
  readonly signIn: boolean;
  /** undefined outside embedded mode: no seed section. */
  readonly seed: SeedFormView | undefined;
  readonly pollMs: number;
}

export function renderPage(view: PageView): string {
  const s = view.snapshot;
  return document(
    'Worker status',
    view.pollMs,
    `<header>
<h1>Worker status</h1>
<p class="muted">${s.embedded ? 'Embedded mode: in-process SQS and DynamoDB emulators.' : 'Consuming a real queue.'}
Numbers come from the worker's own state; no view calls AWS.
<span id="updated">Rendered ${time(s.at)} UTC; live updates need JavaScript, or reload.</span></p>
<p id="summary" role="status" aria-live="polite">${esc(summary(s))}</p>
${banner(s)}
</header>
<main>
${failures(s)}
${flow(s)}
<div class="grid">${inFlight(s)}${queues(s)}</div>
${throughput(s)}
${history(s)}
${readiness(s)}
${recent(s, view.signIn)}
${view.seed ? seedSection(view.seed) : ''}
</main>`,
    `<script>${STATUS_SCRIPT}</script>`,
  );
}

/** A small page for answers of the form and sign-in routes (errors, sign-in needed). */
export function renderMessage(title: string, message: string, problem: boolean): string {
  return document(
    title,
    0,
    `<main><h1>${esc(title)}</h1>
<p class="${problem ? 'problem' : 'notice'}" role="${problem ? 'alert' : 'status'}">${esc(message)}</p>
<p><a href="/">Back to the status page</a></p></main>`,
    '',
  );
}

function document(title: string, pollMs: number, body: string, script: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${esc(title)} · sqs-idempotent-worker</title>
<style>${STATUS_STYLE}</style>
</head>
<body data-poll-ms="${pollMs}">
${body}
${script}
</body>
</html>
`;
}

function throughput(s: StatusSnapshot): string {
  const series = s.outcomes.map((o) => s.perSecond.counts[o]);
  const max = niceMax(Math.max(0, ...series.flat()));
  const rows = s.outcomes
    .map((o, i) => {
      const counts = series[i] ?? [];
      // The current second counts too (partial): it matches the chart's last point.
      const last10 = sum(counts.slice(-10)) / 10;
      return `<tr><th scope="row">${legend(o)} ${esc(o)}</th>
<td class="num" id="rate-${o}">${last10.toFixed(1)}</td>
<td class="num" id="last60-${o}">${sum(counts)}</td>
<td class="num" id="total-${o}">${s.totals[o]}</td></tr>`;
    })
    .join('\n');
  return `<section aria-labelledby="h-throughput">
<h2 id="h-throughput">Messages settled per second, by outcome</h2>
${chart(s, max)}
<div class="scroll">
<table>
<caption>Settled deliveries by outcome (a redelivered message counts each time it settles)</caption>
<thead><tr><th scope="col">Outcome</th><th scope="col" class="num">Per second, last 10 s</th>
<th scope="col" class="num">Last 60 s</th><th scope="col" class="num">Since start</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</div>
</section>`;
}

function chart(s: StatusSnapshot, max: number): string {
  const { width, height, left, right, top, bottom } = CHART;
  const lines = s.outcomes
    .map((o) => {
      const { color, dash } = OUTCOME_STYLE[o];
      return `<polyline id="line-${o}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${points(s.perSecond.counts[o], max)}"/>`;
    })
    .join('\n');
  const mid = (top + bottom) / 2;
  return `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="chart-title chart-desc">
<title id="chart-title">Messages settled per second over the last 60 seconds, one line per outcome</title>
<desc id="chart-desc">The table below gives the same numbers.</desc>
<line x1="${left}" y1="${top}" x2="${right}" y2="${top}" stroke="#d0d7de"/>
<line x1="${left}" y1="${mid}" x2="${right}" y2="${mid}" stroke="#d0d7de"/>
<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#8c959f"/>
<text x="${left - 6}" y="${top + 4}" text-anchor="end" id="chart-max">${max}</text>
<text x="${left - 6}" y="${mid + 4}" text-anchor="end" id="chart-mid">${max / 2}</text>
<text x="${left - 6}" y="${bottom + 4}" text-anchor="end">0</text>
<text x="${left}" y="${height - 10}">60 s ago</text>
<text x="${right}" y="${height - 10}" text-anchor="end">now</text>
${lines}
</svg>`;
}

function legend(outcome: Outcome): string {
  const { color, dash } = OUTCOME_STYLE[outcome];
  return `<svg width="28" height="10" aria-hidden="true" focusable="false"><line x1="0" y1="5" x2="28" y2="5" stroke="${color}" stroke-width="3"${dash ? ` stroke-dasharray="${dash}"` : ''}/></svg>`;
}

function inFlight(s: StatusSnapshot): string {
  return `<section aria-labelledby="h-inflight">
<h2 id="h-inflight">In flight</h2>
<p><span class="big" id="inflight">${s.inFlight}</span> of
<span id="maxinflight">${s.maxInFlight}</span> (<code>MAX_IN_FLIGHT</code>) messages are being handled.</p>
<meter id="inflight-meter" min="0" max="${s.maxInFlight}" high="${Math.max(1, s.maxInFlight - 1)}" value="${s.inFlight}" aria-label="Messages in flight out of MAX_IN_FLIGHT">${s.inFlight} of ${s.maxInFlight}</meter>
</section>`;
}

function queues(s: StatusSnapshot): string {
  const row = (name: 'main' | 'dlq', label: string) =>
    `<tr><th scope="row">${label}</th>${QUEUE_STATES.map(
      (state) => `<td class="num" id="q-${name}-${state}">${number(s.queues[name]?.[state])}</td>`,
    ).join('')}</tr>`;
  const every = s.queues.intervalSeconds;
  return `<section aria-labelledby="h-queues">
<h2 id="h-queues">Queue depth</h2>
<div class="scroll">
<table>
<caption>Approximate, read every ${every === 0 ? '(never: QUEUE_METRICS_INTERVAL=0)' : `${every} s`} (<code>QUEUE_METRICS_INTERVAL</code>); – : not read yet</caption>
<thead><tr><th scope="col">Queue</th><th scope="col" class="num">Visible</th><th scope="col" class="num">In flight</th><th scope="col" class="num">Delayed</th></tr></thead>
<tbody>
${row('main', 'Main queue')}
${row('dlq', 'Dead-letter queue')}
</tbody>
</table>
</div>
${depthFreshness(s)}
</section>`;
}

function readiness(s: StatusSnapshot): string {
  const rows = Object.entries(s.readiness.checks)
    .map(
      ([name, check]) =>
        `<tr><th scope="row">${esc(name)}</th><td class="${check.ok ? 'ok' : 'bad'}">${check.ok ? 'ok' : 'failing'}</td><td>${esc(check.detail ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<section aria-labelledby="h-ready">
<h2 id="h-ready">Readiness</h2>
<p>The checks of <a href="/readyz"><code>GET /readyz</code></a>:
<span id="ready-status" class="${s.readiness.ok ? 'ok big' : 'bad big'}">${s.readiness.ok ? 'Ready' : 'Not ready'}</span></p>
<div class="scroll"><table>
<thead><tr><th scope="col">Check</th><th scope="col">State</th><th scope="col">Detail</th></tr></thead>
<tbody id="ready-rows">
${rows || '<tr><td colspan="3" class="muted">No checks.</td></tr>'}
</tbody>
</table></div>
</section>`;
}

function recent(s: StatusSnapshot, signIn: boolean): string {
  const head = `<section aria-labelledby="h-recent">
<h2 id="h-recent">Recently settled messages</h2>`;
  if (s.recent === null) {
    const link = signIn ? ' <a href="/status/login">Sign in</a> (password: <code>SEED_TOKEN</code>).' : '';
    return `${head}
<p class="notice">Keys are shown with the same protection as <code>GET /records</code>: ${esc(s.recentHidden ?? '')}.${link}</p>
</section>`;
  }
  const rows = s.recent.map(recentRow).join('\n');
  return `${head}
<div class="scroll"><table class="stack">
<caption>The last ${s.recent.length === 0 ? '' : `${s.recent.length} `}deliveries to settle, newest first; bodies are never shown</caption>
<thead><tr><th scope="col">Settled (UTC)</th><th scope="col">Key</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col" class="num">Duration (ms)</th><th scope="col" class="num">Receive count</th></tr></thead>
<tbody id="recent-rows">
${rows || '<tr><td colspan="6" class="muted">No message settled yet.</td></tr>'}
</tbody>
</table></div>
</section>`;
}

function recentRow(r: SettledEntry): string {
  return `<tr><td>${time(r.at)}</td><td class="key">${esc(r.key)}</td><td>${esc(r.outcome)}</td><td>${esc(r.reason ?? '')}</td><td class="num">${r.durationMs}</td><td class="num">${r.receiveCount}</td></tr>`;
}

function seedSection(seed: SeedFormView): string {
  const result = seed.result
    ? `<p class="notice" role="status" id="seed-result">Sent ${seed.result.sent} messages: ${seed.result.unique} keys, ${seed.result.duplicates} of them sent again as duplicates. The counters above move as the worker handles them.</p>`
    : '';
  const head = `<section aria-labelledby="h-seed">
<h2 id="h-seed">Seed messages</h2>
${result}`;
  if (!seed.state.shown) {
    const link = seed.state.signIn
      ? ' <a href="/status/login">Sign in</a> (password: <code>SEED_TOKEN</code>).'
      : '';
    return `${head}<p class="notice">Seeding has the protection of <code>POST /seed</code>: ${esc(seed.state.why)}.${link}</p></section>`;
  }
  return `${head}
<p>Sends generated messages with distinct keys to the embedded queue, then sends some of those keys
again: the worker must handle each key once and count the rest as duplicates.</p>
<form method="post" action="/status/seed">
<label for="seed-count">Messages (distinct keys)
<input id="seed-count" name="count" type="number" min="1" max="10000" step="1" value="10" required></label>
<label for="seed-duplicates">Duplicates (keys sent again)
<input id="seed-duplicates" name="duplicates" type="number" min="0" max="10000" step="1" value="3" required></label>
<button type="submit">Seed</button>
</form>
</section>`;
}

/**
 * One sentence of the live numbers, the page's only live region: a screen reader hears it when a
 * number changes, instead of every cell of every table. The script builds the same sentence.
 */
export function summary(s: StatusSnapshot): string {
  const settled = s.outcomes.filter((o) => s.totals[o] > 0).map((o) => `${s.totals[o]} ${o}`);
  return (
    `Settled since start: ${settled.length === 0 ? 'none' : settled.join(', ')}. ` +
    `In flight: ${s.inFlight} of ${s.maxInFlight}. ${stateSentence(s)}.`
  );
}

/** "Ready", "Not ready", or "Ready, with warnings: ..." with what is wrong. */
export function stateSentence(s: Pick<StatusSnapshot, 'state' | 'problems'>): string {
  return s.state === 'warning' ? `${STATE_TEXT.warning}: ${s.problems.join('; ')}` : STATE_TEXT[s.state];
}

function number(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : String(value);
}
