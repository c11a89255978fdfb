import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { Gauge, Registry } from 'prom-client';
import { CHART, HISTORY_STYLE, STATE, STATUS_SCRIPT, STATUS_STYLE } from '../../src/http/status-assets.js';
import { snapshot } from '../../src/http/status-data.js';
import { renderPage } from '../../src/http/status-html.js';
import { RecentActivity } from '../../src/observability/recent.js';
import { ManualClock } from '../helpers/manual-clock.js';

/**
 * The status page's style and script are real files (src/http/status/page.css, page.js); what the
 * TypeScript side and the files must agree on is checked here.
 */
const css = readFileSync(new URL('../../src/http/status/page.css', import.meta.url), 'utf8');
const js = readFileSync(new URL('../../src/http/status/page.js', import.meta.url), 'utf8');

async function page(): Promise<string> {
  const registry = new Registry();
  const queueGauge = new Gauge<'queue' | 'state'>({
    name: 'q',
    help: 'h',
    labelNames: ['queue', 'state'],
    registers: [registry],
  });
  const at = Date.UTC(2026, 11, 7);
  const clock = new ManualClock(at);
  const snap = await snapshot(
    {
      activity: new RecentActivity({ clock }),
      queueGauge,
      queueMetricsIntervalMs: 30_000,
      maxInFlight: 5,
      embedded: true,
      readiness: () => ({ ok: true, checks: {} }),
      now: () => clock.now(),
    },
    { show: true },
  );
  return renderPage({ snapshot: snap, signIn: false, seed: undefined, pollMs: 2000 });
}

/** The column headers of the table whose body has id `bodyId`. */
function headers(html: string, bodyId: string): string[] {
  const before = html.slice(0, html.indexOf(`<tbody id="${bodyId}"`));
  const head = before.slice(before.lastIndexOf('<thead>'));
  return [...head.matchAll(/<th scope="col"[^>]*>([^<]*)<\/th>/g)].map((m) => m[1] ?? '');
}

describe('status page assets', () => {
  it('are the files, inlined whole', () => {
    expect(STATUS_STYLE).toBe(`\n${css}`);
    expect(STATUS_SCRIPT).toContain(js);
    expect(STATUS_SCRIPT).toContain(`startStatusPage(${JSON.stringify(CHART)}, ${JSON.stringify(STATE)});`);
  });

  it('label each cell of a stacked table with the start of its column header', async () => {
    const html = await page();
    for (const id of ['failure-rows', 'recent-rows']) {
      const names = headers(html, id);
      expect(names.length).toBeGreaterThan(3);
      const labels = [
        ...css.matchAll(
          new RegExp(`#${id} td:nth-child\\((\\d+)\\)::before \\{\\s*content: (["'])([^"']*): \\2;`, 'g'),
        ),
      ];
      expect(labels.map((m) => Number(m[1]))).toEqual(names.map((_, i) => i + 1));
      labels.forEach((m, i) => expect([m[3], names[i]?.startsWith(m[3] ?? '-')]).toEqual([m[3], true]));
    }
  });

  it('colour the history swatches as the chart draws its lines', () => {
    for (const [name, style] of Object.entries(HISTORY_STYLE)) {
      expect(css).toMatch(new RegExp(`\\.swatch-${name} \\{\\s*background: ${style.color};\\s*\\}`));
    }
  });

  it('run in one function scope, leaving no global behind', () => {
    expect(STATUS_SCRIPT.trim().startsWith('(() => {')).toBe(true);
    expect(STATUS_SCRIPT.trim().endsWith('})();')).toBe(true);
  });
});
