import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runProcess } from '../helpers/process.js';

const ROOT = resolve('.');

describe("npm's own messages", () => {
  it('a failing npm command says why on stderr (no silent loglevel in an .npmrc)', async () => {
    const npm = runProcess('npm', ['run', 'no-such-script'], {}, { cwd: ROOT });
    const { code } = await npm.exit();
    expect(code).not.toBe(0);
    expect(npm.stderr()).toMatch(/Missing script: "no-such-script"/);
  });
});

/**
 * scripts/build-if-stale.mjs on a project of its own (one source file, the same layout as
 * this one): the checkout's dist/ is what the other suites run, so it is not rebuilt here.
 */
describe('scripts/build-if-stale.mjs', () => {
  let project: string;

  beforeAll(() => {
    project = mkdtempSync(join(tmpdir(), 'sqs-worker-build-'));
    mkdirSync(join(project, 'scripts'));
    mkdirSync(join(project, 'src'));
    for (const script of ['build-if-stale.mjs', 'copy-assets.mjs']) {
      copyFileSync(join(ROOT, 'scripts', script), join(project, 'scripts', script));
    }
    // A file of src/ that is not TypeScript, where the status page keeps its own.
    mkdirSync(join(project, 'src', 'http', 'status'), { recursive: true });
    writeFileSync(join(project, 'src', 'http', 'status', 'page.css'), 'body { margin: 0; }\n');
    symlinkSync(join(ROOT, 'node_modules'), join(project, 'node_modules'));
    const options = { module: 'NodeNext', target: 'ES2023', strict: true, types: [] };
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: options }));
    const build = { rootDir: 'src', outDir: 'dist', incremental: true, tsBuildInfoFile: 'dist/.tsbuildinfo' };
    writeFileSync(
      join(project, 'tsconfig.build.json'),
      JSON.stringify({ extends: './tsconfig.json', compilerOptions: build, include: ['src'] }),
    );
  });

  afterAll(() => {
    rmSync(project, { recursive: true, force: true });
  });

  const buildIfStale = async () => {
    const run = runProcess(process.execPath, [join(project, 'scripts', 'build-if-stale.mjs')], {});
    const { code } = await run.exit();
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  };

  it('says on stderr that it builds, and nothing when dist/ is up to date; stdout stays empty', async () => {
    writeFileSync(join(project, 'src', 'a.ts'), 'export const a: number = 1;\n');
    const first = await buildIfStale();
    expect(first).toEqual({ code: 0, stdout: '', stderr: expect.any(String) });
    expect(first.stderr).toMatch(/^building src\/ into dist\/ \(the first build takes about 30 s\)\.\.\.\n/);
    expect(first.stderr).toMatch(/^built dist\/ in \d+\.\d s$/m);
    expect(readFileSync(join(project, 'dist', 'http', 'status', 'page.css'), 'utf8')).toBe(
      'body { margin: 0; }\n',
    );
    expect(await buildIfStale()).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it("puts tsc's errors on stderr too and exits non-zero", async () => {
    writeFileSync(join(project, 'src', 'a.ts'), 'export const a: number = "one";\n');
    const broken = await buildIfStale();
    expect(broken.code).not.toBe(0);
    expect(broken.stdout).toBe('');
    expect(broken.stderr).toMatch(/rebuilding dist\//);
    expect(broken.stderr).toMatch(/error TS2322/);
  });
});
