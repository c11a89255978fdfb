import { CHART, HISTORY_STYLE, STATE } from './status-assets.js';
import type { FailureView, StatusSnapshot, StatusState } from './status-data.js';
import { esc, niceMax, points, sum, time } from './status-text.js';

/**
 * The parts of the status page for the night shift: the headline state, the failures view, the
 * flow (in against out, handler times, oldest age), 15 minutes of history and the depths' age.
 * Every value from outside goes through `esc`; the script (status-assets.ts) updates the same ids.
 */

export const STATE_TEXT: Readonly<Record<StatusState, string>> = STATE.text;
const STATE_CLASS: Readonly<Record<StatusState, string>> = STATE.className;

/** The headline: the state in words (not colour alone) and what makes it so. */
export function banner(s: StatusSnapshot): string {
  const items = s.problems.map((p) => `<li>${esc(p)}</li>`).join('');
  return `<div id="state-banner" class="${STATE_CLASS[s.state]}">
<p><span id="state-headline" class="big">${STATE_TEXT[s.state]}</span></p>
<ul id="problems">${items}</ul>
</div>`;
}

/** The failures, newest first, apart from the successes (their own ring buffer). */
export function failures(s: StatusSnapshot): string {
  const rows = s.failures.map(failureRow).join('\n');
  const keys = s.recent === null ? ' Keys are hidden (STATUS_SHOW_KEYS).' : '';
  return `<section aria-labelledby="h-failures">
<h2 id="h-failures">Failures</h2>
<p class="muted">Dead-lettered, retried, lease lost and payload mismatches, kept apart from successes.
Errors are redacted: no message body, no secret values.${keys}</p>
<div class="scroll">
<table class="stack">
<thead><tr><th scope="col">Settled (UTC)</th><th scope="col">Key</th><th scope="col">Outcome</th><th scope="col">Reason</th><th scope="col">Last error</th><th scope="col" class="num">Receives</th></tr></thead>
<tbody id="failure-rows">
${rows || '<tr><td colspan="6" class="muted">No failure since the start.</td></tr>'}
</tbody>
</table>
</div>
</section>`;
}

function failureRow(f: FailureView): string {
  const key = f.key === null ? '<td class="key muted">hidden</td>' : `<td class="key">${esc(f.key)}</td>`;
  return `<tr><td>${time(f.at)}</td>${key}<td class="bad">${esc(f.outcome)}</td><td>${esc(f.reason ?? '')}</td><td class="err">${esc(f.error ?? '')}</td><td class="num">${f.receiveCount}</td></tr>`;
}

/** In against out, handler times and the oldest message's age, as numbers. */
export function flow(s: StatusSnapshot): string {
  const cell = (id: string, label: string, value: string, note: string) =>
    `<div class="stat"><dt>${label}</dt><dd><span class="big" id="${id}">${value}</span> <span class="muted">${note}</span></dd></div>`;
  const ms = (v: number | null) => (v === null ? '–' : String(v));
  return `<section aria-labelledby="h-flow">
<h2 id="h-flow">Flow: in against out</h2>
<dl class="stats">
${cell('rate-in', 'Received per second', s.rates.inPerSecond.toFixed(1), 'last 10 s')}
${cell('rate-out', 'Settled per second', s.rates.outPerSecond.toFixed(1), 'last 10 s')}
${cell('handler-p50', 'Handler p50', ms(s.handler.p50Ms), `ms, last <span id="handler-runs">${s.handler.runs}</span> runs`)}
${cell('handler-p99', 'Handler p99', ms(s.handler.p99Ms), 'ms')}
${cell('oldest-age', 'Oldest message age', s.oldestAge.seconds === null ? '–' : s.oldestAge.seconds.toFixed(1), `s at receipt, last ${s.oldestAge.windowSeconds} s`)}
</dl>
</section>`;
}

/** 15 minutes in 10 s buckets: received, settled and failed, one line each. */
export function history(s: StatusSnapshot): string {
  const h = s.history;
  const max = niceMax(Math.max(0, ...h.received, ...h.settled, ...h.failed));
  const { width, height, left, right, top, bottom } = CHART;
  const line = (name: 'received' | 'settled' | 'failed') => {
    const { color, dash } = HISTORY_STYLE[name];
    return `<polyline id="hist-${name}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${points(h[name], max)}"/>`;
  };
  const key = (['received', 'settled', 'failed'] as const)
    .map((n) => `<li><span class="swatch swatch-${n}"></span>${n}</li>`)
    .join('');
  const minutes = (h.received.length * h.bucketSeconds) / 60;
  return `<section aria-labelledby="h-history">
<h2 id="h-history">Last ${minutes} minutes</h2>
<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="hist-title">
<title id="hist-title">Messages received, settled and failed per ${h.bucketSeconds} s over the last ${minutes} minutes</title>
<line x1="${left}" y1="${top}" x2="${right}" y2="${top}" stroke="#d0d7de"/>
<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" stroke="#8c959f"/>
<text x="${left - 6}" y="${top + 4}" text-anchor="end" id="hist-max">${max}</text>
<text x="${left - 6}" y="${bottom + 4}" text-anchor="end">0</text>
<text x="${left}" y="${height - 10}">${minutes} min ago</text>
<text x="${right}" y="${height - 10}" text-anchor="end">now</text>
${line('received')}
${line('settled')}
${line('failed')}
</svg>
<ul class="keyline">${key}</ul>
<p>Received in ${minutes} min: <span id="sum-received">${sum(h.received)}</span>; settled:
<span id="sum-settled">${sum(h.settled)}</span>; failed: <span id="sum-failed">${sum(h.failed)}</span>;
oldest age at receipt: <span id="hist-age">${Math.max(0, ...h.oldestAgeSeconds).toFixed(1)}</span> s.</p>
</section>`;
}

/** When the depths were last read, and a plain "stale" when that is too long ago. */
export function depthFreshness(s: StatusSnapshot): string {
  return `<p id="q-fresh" class="${s.queues.stale ? 'problem' : 'muted'}">${esc(freshnessText(s))}</p>`;
}

/** The sentence under the depths; the script builds the same one. */
export function freshnessText(s: StatusSnapshot): string {
  const q = s.queues;
  if (q.intervalSeconds === 0) return 'Depths are not read (QUEUE_METRICS_INTERVAL=0).';
  const last =
    q.lastReadAt === null
      ? 'Not read successfully yet'
      : `Last read ${time(q.lastReadAt)} UTC, ${Math.max(0, Math.round((s.at - q.lastReadAt) / 1000))} s ago`;
  const stale = q.stale ? `STALE (older than ${q.staleAfterSeconds} s): ` : '';
  const error = q.readError === null ? '' : ` Reads fail: ${q.readError}`;
  return `${stale}${last}.${error}`;
}
