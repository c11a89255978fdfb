// The SVG chart of the report: throughput per workload and system, median with min–max whiskers.
import { SYSTEM_ORDER } from './report.mjs';
import { find } from './targets.mjs';

const COLORS = {
  baseline: '#9e9e9e',
  floor: '#607d8b',
  peer: '#e69f00',
  'ours-single': '#56b4e9',
  'ours-batched': '#0072b2',
};

/** A grouped bar chart of throughput: workloads along x, one bar per system. Hand-written SVG. */
export function renderSvg(summary) {
  const workloads = [...new Set(summary.map((r) => r.workload))];
  const systems = SYSTEM_ORDER.filter((s) => summary.some((r) => r.system === s));
  const max = Math.max(...summary.map((r) => r.range.throughput_msgs_per_s[1] ?? 0), 1);
  const W = 720;
  const H = 360;
  const left = 60;
  const bottom = 300;
  const top = 40;
  const groupW = (W - left - 20) / workloads.length;
  const barW = (groupW - 30) / systems.length;
  const y = (v) => bottom - ((bottom - top) * v) / max;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Throughput, messages/s (median; whisker: min–max)</text>`,
  ];
  for (let i = 0; i <= 4; i += 1) {
    const v = (max * i) / 4;
    out.push(
      `<line x1="${left}" x2="${W - 20}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${Math.round(v)}</text>`,
    );
  }
  workloads.forEach((w, wi) => {
    const gx = left + wi * groupW + 15;
    systems.forEach((s, si) => {
      const r = find(summary, w, s);
      if (!r) return;
      const x = gx + si * barW;
      const v = r.throughput_msgs_per_s;
      const [lo, hi] = r.range.throughput_msgs_per_s;
      const cx = (x + barW / 2 - 1).toFixed(1);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y(v).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(bottom - y(v)).toFixed(1)}" fill="${COLORS[s]}"><title>${s} ${w}: ${Math.round(v)} msg/s</title></rect>`,
        `<line x1="${cx}" x2="${cx}" y1="${y(hi).toFixed(1)}" y2="${y(lo).toFixed(1)}" stroke="#000"/>`,
        `<text x="${cx}" y="${(y(hi) - 4).toFixed(1)}" text-anchor="middle" font-size="10">${Math.round(v)}</text>`,
      );
    });
    out.push(
      `<text x="${(gx + (barW * systems.length) / 2).toFixed(1)}" y="${bottom + 18}" text-anchor="middle">${w}</text>`,
    );
  });
  out.push(`<line x1="${left}" x2="${W - 20}" y1="${bottom}" y2="${bottom}" stroke="#000"/>`);
  systems.forEach((s, i) => {
    const x = left + i * 150;
    out.push(
      `<rect x="${x}" y="${bottom + 34}" width="12" height="12" fill="${COLORS[s]}"/>`,
      `<text x="${x + 18}" y="${bottom + 44}">${s}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}
