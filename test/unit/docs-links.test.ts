import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/**
 * Every link and file path in README.md and docs/*.md resolves: relative links to files and
 * folders, `#anchors` by GitHub's heading slugs, and backticked paths that look like paths of this
 * repository (`src/worker/lease.ts`, `k8s/overlays/prod`, and `worker/lease.ts` relative to src/).
 * Fenced code blocks are commands and output, not references, and are left alone.
 */

const PAGES = ['README.md', ...readdirSync('docs').flatMap((f) => (f.endsWith('.md') ? [`docs/${f}`] : []))];

/** Top-level entries of the repository a backticked path may start with (dist/ maps to src/). */
const ROOTS = new Set(
  readdirSync('.').filter(
    (name) => !['node_modules', '.git', 'dist', '.emulators', 'coverage'].includes(name),
  ),
);
const SRC_FOLDERS = new Set(readdirSync('src').filter((name) => statSync(join('src', name)).isDirectory()));

/** Paths the docs name that a run makes (git-ignored or written by a tool), or a placeholder. */
const MADE_BY_RUNS = new Set([
  'reports/mutation/',
  'config/name.json',
  '.emulators/bin',
  'chaos/results/latest.json',
]);

/**
 * Paths that come with another change of issue 21, not yet merged here: `examples/handler-package/`
 * with the handler change (branch wip-handler). A test fails once one exists: then drop it here.
 */
const PENDING = new Set<string>([]);

const NOT_IN_CHECKOUT = new Set([...MADE_BY_RUNS, ...PENDING]);

/** The page's text with fenced code blocks blanked out (line numbers kept). */
function prose(text: string): string {
  let fenced = false;
  return text
    .split('\n')
    .map((line) => {
      const fence = /^\s*(```|~~~)/.test(line);
      if (fence) fenced = !fenced;
      return fence || fenced ? '' : line;
    })
    .join('\n');
}

/** The line number of an offset. */
const lineAt = (text: string, offset: number): number => text.slice(0, offset).split('\n').length;

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`/g, '');
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page, duplicates numbered as GitHub numbers them (x, x-1, x-2). */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const found = new Set<string>();
  for (const line of prose(text).split('\n')) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = slug(heading[1] as string);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  return found;
}

/** Markdown links and images (their text may run over lines): target and line. */
function links(text: string): { target: string; line: number }[] {
  const withoutCode = text.replace(/`[^`]*`/g, (span) => span.replace(/[^\n]/g, ' '));
  return [...withoutCode.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => ({
    target: m[1] as string,
    line: lineAt(text, m.index),
  }));
}

/** Backticked spans that look like repository paths (no spaces, a slash, a known root), with line. */
function codePaths(text: string): { span: string; line: number }[] {
  return [...text.matchAll(/`([^`]+)`/g)]
    .map((m) => ({ span: (m[1] as string).replace(/:\d+$/, ''), line: lineAt(text, m.index) }))
    .filter(({ span }) => /^\.?[\w-]+(\.\w+)?\/[\w.*@/-]*$/.test(span) && !span.includes('//'))
    .filter(({ span }) => {
      const first = span.split('/')[0] as string;
      return ROOTS.has(first) || SRC_FOLDERS.has(first) || first === 'dist';
    });
}

/** Where a backticked path points: from the root, from src/, or dist/x.js back to src/x.ts. */
function resolvePath(span: string): string {
  const first = span.split('/')[0] as string;
  if (first === 'dist') return span.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
  return ROOTS.has(first) ? span : `src/${span}`;
}

/** A path exists; a glob (`scripts/*.sh`, `src/**`) when the folder before it does. */
function exists(path: string): boolean {
  const star = path.indexOf('*');
  return existsSync(star >= 0 ? dirname(path.slice(0, star + 1)) : path);
}

/** Every reference of one page that does not resolve, as `page:line: what`. */
function brokenReferences(
  page: string,
  text: string,
  read = (p: string) => readFileSync(p, 'utf8'),
): string[] {
  const broken: string[] = [];
  const body = prose(text);
  for (const { target, line: n } of links(body)) {
    {
      if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // http:, https:, mailto:
      const [file = '', anchor] = target.split('#');
      const path = file === '' ? page : normalize(join(dirname(page), decodeURI(file)));
      if (file !== '' && !exists(path) && !NOT_IN_CHECKOUT.has(file.replace(/^(\.\.\/)+/, ''))) {
        broken.push(`${page}:${n}: link to ${target}: no such file`);
      } else if (anchor !== undefined && path.endsWith('.md')) {
        const targetText = path === page ? text : read(path);
        if (!anchors(targetText).has(anchor)) broken.push(`${page}:${n}: link to ${target}: no such anchor`);
      }
    }
  }
  for (const { span, line: n } of codePaths(body)) {
    if (NOT_IN_CHECKOUT.has(span)) continue;
    if (!exists(resolvePath(span))) broken.push(`${page}:${n}: \`${span}\`: no such path`);
  }
  return broken;
}

describe('links and paths in README.md and docs/', () => {
  it.each(PAGES)('%s: every link, anchor and path resolves', (page) => {
    expect(brokenReferences(page, readFileSync(page, 'utf8'))).toEqual([]);
  });

  it('the README stays a front door: at most 300 lines, and it links every page of docs/', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme.split('\n').length).toBeLessThanOrEqual(300);
    const linked = new Set(links(readme).map(({ target }) => target.split('#')[0]));
    for (const page of PAGES.filter((p) => p.startsWith('docs/'))) expect(linked).toContain(page);
  });

  it('lists no path as pending that is in the checkout (then the list is stale)', () => {
    expect([...PENDING].filter((p) => existsSync(p))).toEqual([]);
  });
});

/** Every file of the code, tests, scripts and deploy files (not the docs), as one text. */
function codeText(): string {
  const walk = (path: string): string[] => {
    if (statSync(path).isFile()) return [path];
    return readdirSync(path)
      .filter((name) => !['node_modules', 'dist', 'results', 'fixtures'].includes(name))
      .flatMap((name) => walk(join(path, name)));
  };
  const roots = ['src', 'test', 'scripts', 'bench', 'chaos', 'k8s', 'ops', 'config', 'Dockerfile'];
  return [...roots, 'docker-compose.yml', '.ci', 'eslint.config.js']
    .filter((root) => existsSync(root))
    .flatMap(walk)
    .filter((file) => !/\.(png|svg|jar|gz)$/.test(file))
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
}

describe('names in README.md and docs/', () => {
  it('every backticked NAME_IN_CAPITALS (a setting, code, constant) occurs in the code', () => {
    const code = codeText();
    const unknown = PAGES.flatMap((page) => {
      const body = prose(readFileSync(page, 'utf8'));
      const names = new Set(
        [...body.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=[^`]*)?`/g)].map((m) => m[1]),
      );
      return [...names]
        .filter((name) => !new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`).test(code))
        .map((name) => `${page}: ${name}`);
    });
    expect(unknown).toEqual([]);
  });
});

describe('comments in the code that point at the docs', () => {
  /** Every tracked text file outside the docs themselves (README.md, docs/), generated output and lockfiles. */
  const sources = execFileSync('git', ['ls-files'], { encoding: 'utf8' })
    .split('\n')
    .filter(
      (f) =>
        f !== '' &&
        !f.startsWith('docs/') &&
        f !== 'README.md' &&
        f !== 'test/unit/docs-links.test.ts' &&
        !f.endsWith('.png'),
    )
    .filter((f) => !f.endsWith('package-lock.json') && existsSync(f) && statSync(f).isFile());

  it('name pages of docs/ that exist, and headings they have; none points at README sections', () => {
    const wrong: string[] = [];
    let seen = 0;
    for (const file of sources) {
      // Comment continuations (`#`, ` * `, `//`) joined, so a heading split over two lines reads whole.
      const text = readFileSync(file, 'utf8').replace(/\n\s*(?:#|\*|\/\/)?\s*/g, ' ');
      for (const [, page = '', heading] of text.matchAll(/\((docs\/[\w-]+\.md)(?:, "([^"]+)")?/g)) {
        seen += 1;
        if (!existsSync(page)) wrong.push(`${file}: ${page} does not exist`);
        else if (
          heading !== undefined &&
          ![...anchors(readFileSync(page, 'utf8'))].some((a) => a.startsWith(slug(heading)))
        )
          wrong.push(`${file}: ${page} has no heading "${heading}"`);
      }
      if (/README,\s+"|README's "|\(README\b/.test(text)) wrong.push(`${file}: points at a README section`);
    }
    expect(seen).toBeGreaterThan(10);
    expect(wrong).toEqual([]);
  });
});

describe('.ci/run', () => {
  it('names only pages of docs/ that exist, and headings they have', () => {
    const comments = readFileSync('.ci/run', 'utf8').replace(/\n#\s*/g, ' ');
    const refs = [...comments.matchAll(/\((docs\/[\w-]+\.md)(?:, "([^"]+)")?\)/g)];
    expect(refs.length).toBeGreaterThan(5);
    for (const [, page = '', heading] of refs) {
      expect(`${page}: ${existsSync(page)}`).toBe(`${page}: true`);
      if (heading === undefined) continue;
      const headings = [...anchors(readFileSync(page, 'utf8'))];
      expect(`${page}, "${heading}": ${headings.some((a) => a.startsWith(slug(heading)))}`).toBe(
        `${page}, "${heading}": true`,
      );
    }
    expect(comments).not.toMatch(/README, "/);
  });
});

describe('the checker finds what is broken', () => {
  const page = 'docs/probe.md';
  const check = (text: string) => brokenReferences(page, text, () => '# Real heading\n');

  it('a link to a missing file, a missing anchor here or there, and a missing path', () => {
    const text = [
      '# Here',
      'See [gone](gone.md), [here](#nowhere), [there](operations.md#no-such-section).',
      'The heartbeat is in `worker/heartbeat.ts`, the lease in `src/worker/lease.ts`, and [a',
      'link over two lines](#gone-too).',
      '```sh',
      'cat src/not/checked.ts # commands in fences are not references: `src/nope.ts`',
      '```',
    ].join('\n');
    expect(check(text)).toEqual([
      'docs/probe.md:2: link to gone.md: no such file',
      'docs/probe.md:2: link to #nowhere: no such anchor',
      'docs/probe.md:2: link to operations.md#no-such-section: no such anchor',
      'docs/probe.md:3: link to #gone-too: no such anchor',
      'docs/probe.md:3: `worker/heartbeat.ts`: no such path',
    ]);
  });

  it('accepts what resolves: files, folders, globs, dist/ paths, anchors, web links', () => {
    const text = [
      '# Exit codes and signals',
      '[a](#exit-codes-and-signals) [b](operations.md) [c](../README.md) [d](https://example.com/x)',
      '`k8s/overlays/prod`, `scripts/*.sh`, `dist/main.js`, `worker/lease.ts`, `application/json`',
    ].join('\n');
    expect(check(text)).toEqual([]);
  });

  it("makes GitHub's slugs", () => {
    expect(slug('Traces (OpenTelemetry)')).toBe('traces-opentelemetry');
    expect(slug('Alerts, dashboard and their tests')).toBe('alerts-dashboard-and-their-tests');
    expect(slug('The `sqs-worker` binary: [docs](x.md)')).toBe('the-sqs-worker-binary-docs');
    expect([...anchors('# A\n## A\n```\n# not a heading\n```\n## A')]).toEqual(['a', 'a-1', 'a-2']);
  });
});
