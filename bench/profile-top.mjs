// node bench/profile-top.mjs FILE.cpuprofile [N]: the N functions with the most self time.
import { readFileSync } from 'node:fs';

const [file, n = '15'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const dt = new Map();
for (let i = 0; i < profile.samples.length; i += 1) {
  const id = profile.samples[i];
  dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}
const self = new Map();
let total = 0;
for (const node of profile.nodes) {
  const us = dt.get(node.id) ?? 0;
  total += us;
  const f = node.callFrame;
  const where = f.url
    ? `${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/')}:${f.lineNumber + 1}`
    : '';
  const name = `${f.functionName || '(anonymous)'} ${where}`.trim();
  self.set(name, (self.get(name) ?? 0) + us);
}
const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
for (const [name, us] of top) console.log(`${((us / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
