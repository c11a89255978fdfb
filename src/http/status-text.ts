import { CHART } from './status-assets.js';

/** Small helpers the status page's HTML parts share (the script has its own copies). */

/** Escapes text for HTML content and double- or single-quoted attribute values. */
export function esc(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** 1, 2, 5, 10, 20, 50, ...: the smallest at least `n` (the script has the same rule). */
export function niceMax(n: number): number {
  let m = 1;
  while (m < n) m *= String(m)[0] === '2' ? 2.5 : 2;
  return m;
}

/** A polyline's points for `values` scaled to `max` in the chart's plot area. */
export function points(values: readonly number[], max: number): string {
  const { left, right, top, bottom } = CHART;
  const step = (right - left) / Math.max(1, values.length - 1);
  return values
    .map((v, i) => `${(left + i * step).toFixed(1)},${(bottom - (v / max) * (bottom - top)).toFixed(1)}`)
    .join(' ');
}

export function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

/** HH:MM:SS of an epoch ms, UTC. */
export function time(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}
