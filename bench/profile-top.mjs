// node bench/profile-top.mjs FILE.cpuprofile [N] [--by-owner] [--from ISO-or-ms]
//
// Default: the N functions with the most self time.
// --by-owner: self time charged to the code that caused it: each sample goes to the innermost
// frame that belongs to a package or to the worker (dist/, bench/), so Node's own functions
// (writev, Hmac, timers) count for whoever called them; then grouped by that owner (the package,
// or the worker's file) and printed with the top functions inside each.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const byOwner = args.includes('--by-owner');
const [file, n = '15'] = args.filter((a) => !a.startsWith('--'));
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const dt = new Map();
for (let i = 0; i < profile.samples.length; i += 1) {
  const id = profile.samples[i];
  dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

function where(f) {
  return f.url
    ? `${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|bench)\//, '$1/')}:${f.lineNumber + 1}`
    : '';
}
const label = (f) => `${f.functionName || '(anonymous)'} ${where(f)}`.trim();

/** The package (`@smithy/core`, `pino`) or worker file (`dist/app.js`) a frame belongs to. */
function ownerOf(f) {
  const url = f.url ?? '';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1];
  const own = /\/(dist|bench)\/(.*)$/.exec(url);
  if (own) return `${own[1]}/${own[2]}`;
  return undefined;
}

let total = 0;
for (const us of dt.values()) total += us;
const pct = (us) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;

if (!byOwner) {
  const self = new Map();
  for (const node of profile.nodes) {
    const name = label(node.callFrame);
    self.set(name, (self.get(name) ?? 0) + (dt.get(node.id) ?? 0));
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
  for (const [name, us] of top) console.log(`${pct(us)}  ${name}`);
} else {
  const owners = new Map();
  for (const [id, us] of dt) {
    const self = nodes.get(id).callFrame;
    let owner;
    let frame = self;
    for (let at = id; at !== undefined; at = parent.get(at)) {
      frame = nodes.get(at).callFrame;
      owner = ownerOf(frame);
      if (owner) break;
    }
    const name = owner ?? (self.functionName.startsWith('(') ? self.functionName : '(node, no caller)');
    const entry = owners.get(name) ?? { us: 0, fns: new Map() };
    entry.us += us;
    const fn = owner ? `${label(self)}${self === frame ? '' : ` <- ${label(frame)}`}` : label(self);
    entry.fns.set(fn, (entry.fns.get(fn) ?? 0) + us);
    owners.set(name, entry);
  }
  for (const [name, entry] of [...owners].sort((a, b) => b[1].us - a[1].us).slice(0, Number(n))) {
    console.log(`${pct(entry.us)}  ${name}`);
    for (const [fn, us] of [...entry.fns].sort((a, b) => b[1] - a[1]).slice(0, 4)) {
      console.log(`           ${pct(us)}  ${fn}`);
    }
  }
}
