import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Outcome } from '../core/pipeline.js';

/**
 * The status page's inline style and script (status/page.css, status/page.js: real files, copied
 * into dist/ by the build), and the Content-Security-Policy that allows exactly these two (by hash)
 * and nothing else: no other script, no style attribute, no framing, forms and
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

/** A file of the page (./status/), read once at load: from src/ in tests, from dist/ once built. */
function asset(name: string): string {
  const text = readFileSync(new URL(`./status/${name}`, import.meta.url), 'utf8');
  // Inlined into <style> and <script>: a closing tag in it would end the element early.
  if (/<\/(?:script|style)/i.test(text)) throw new Error(`status/${name} contains a closing tag`);
  return text;
}

export const STATUS_STYLE = `\n${asset('page.css')}`;

/**
 * The script (status/page.js) and its start, given this module's constants, inside one arrow
 * function: the file's declarations stay local to it, as no global of the page.
 */
export const STATUS_SCRIPT = `
(() => {
${asset('page.js')}startStatusPage(${JSON.stringify(CHART)}, ${JSON.stringify(STATE)});
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
