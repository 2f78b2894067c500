/**
 * `npm run notebooks`: executes every notebook in notebooks/ headless on Deno's Jupyter kernel
 * and checks what came out (tools/notebooks/check_notebook.ts): no cell error, a picture in every
 * cell tagged `picture`. The executed copies go to notebooks/.executed/ (git-ignored); the
 * committed notebooks are never written.
 *
 * The kernel runs cells without typechecking them, so the code cells of each notebook are first
 * written out as one module (notebook_module.ts) and typechecked with `deno check`, with
 * notebooks/support.ts.
 *
 * The kernelspec is installed into the project's own Jupyter data folder (.jupyter/, git-ignored),
 * so neither CI nor a user needs a global `deno jupyter --install`. `deno jupyter --install`
 * ignores JUPYTER_DATA_DIR and follows XDG_DATA_HOME, so both are pointed there.
 *
 * Usage: node build/tools/notebooks/run_notebooks.js [--timeout SECONDS] [NOTEBOOK.ipynb ...]
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { runWithRetries, RetriedCheck } from './check_notebook';
import { notebookAsModule } from './notebook_module';

/** The executable of Debian's jupyter-nbconvert package (pip's nbconvert installs it too). */
const NBCONVERT = 'jupyter-nbconvert';

/** Seconds a single cell may run before nbconvert gives up on it. */
const DEFAULT_CELL_TIMEOUT_S = 120;

function repositoryRoot(): string {
  // src: tools/notebooks; compiled: build/tools/notebooks.
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'notebooks', 'deno.json')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
  }
  throw new Error(`run_notebooks: no notebooks/deno.json above ${__dirname}`);
}

function tail(s: string, lines = 40): string {
  // nbconvert's Python prints debugger warnings about frozen modules; they are noise here.
  return s
    .split('\n')
    .filter((l) => !/frozen modules|frozen_modules|PYDEVD_DISABLE_FILE_VALIDATION|Debugging will proceed/.test(l))
    .slice(-lines)
    .join('\n');
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, what: string): void {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing && command === NBCONVERT
        ? `run_notebooks: ${what}: ${NBCONVERT} is not installed (Debian: apt-get install jupyter-nbconvert jupyter-client)`
        : `run_notebooks: ${what}: ${r.error.message}`,
    );
  }
  if (r.status !== 0) throw new Error(`run_notebooks: ${what} exited with ${r.status ?? r.signal}:\n${tail(`${r.stdout}\n${r.stderr}`)}`);
}

function parseArgs(argv: string[]): { timeout: number; only: string[] } {
  let timeout = DEFAULT_CELL_TIMEOUT_S;
  const only: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--timeout') {
      timeout = Number(argv[++i]);
      if (!Number.isInteger(timeout) || timeout < 1) throw new Error(`run_notebooks: --timeout must be a positive integer of seconds, got ${argv[i]}`);
    } else if (argv[i].endsWith('.ipynb')) {
      only.push(path.basename(argv[i]));
    } else {
      throw new Error(`run_notebooks: unknown argument ${argv[i]}; usage: run_notebooks [--timeout SECONDS] [NOTEBOOK.ipynb ...]`);
    }
  }
  return { timeout, only };
}

async function main(): Promise<void> {
  const { timeout, only } = parseArgs(process.argv.slice(2));
  const root = repositoryRoot();
  const notebooksDir = path.join(root, 'notebooks');
  const outDir = path.join(notebooksDir, '.executed');
  const deno = path.join(root, 'node_modules', '.bin', 'deno');
  if (!fs.existsSync(deno)) throw new Error(`run_notebooks: ${deno} is missing; run npm ci (deno is a devDependency)`);
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) throw new Error('run_notebooks: dist/index.js is missing; run npm run build first (the notebooks import the built library)');
  const all = fs.readdirSync(notebooksDir).filter((f) => f.endsWith('.ipynb')).sort();
  const unknown = only.filter((f) => !all.includes(f));
  if (unknown.length > 0) throw new Error(`run_notebooks: no notebook ${unknown.join(', ')} in notebooks/; there are ${all.join(', ')}`);
  const names = only.length > 0 ? all.filter((f) => only.includes(f)) : all;
  if (names.length === 0) throw new Error('run_notebooks: notebooks/ holds no .ipynb file');

  const jupyterHome = path.join(root, '.jupyter');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_DATA_HOME: jupyterHome,
    JUPYTER_DATA_DIR: path.join(jupyterHome, 'jupyter'),
    DENO_NO_UPDATE_CHECK: '1',
    NO_COLOR: '1', // deno's type errors without ANSI colours, for CI logs
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
  };
  const t0 = Date.now();
  run(deno, ['jupyter', '--install', '--force'], root, env, 'deno jupyter --install');
  fs.mkdirSync(outDir, { recursive: true });
  // The kernel does not typecheck cells; deno check does, on each notebook's code as one module.
  const modules = names.map((name) => {
    const file = path.join(outDir, `${path.basename(name, '.ipynb')}.check.ts`);
    const notebook = JSON.parse(fs.readFileSync(path.join(notebooksDir, name), 'utf8')) as unknown;
    fs.writeFileSync(file, notebookAsModule(notebook, name, { relativePrefix: '../', libraryTypes: '../../dist/index.d.ts' }));
    return path.relative(notebooksDir, file);
  });
  run(deno, ['check', 'support.ts', ...modules], notebooksDir, env, `deno check notebooks/support.ts and the code of ${names.join(', ')} (notebooks/${path.relative(notebooksDir, outDir)}/*.check.ts)`);
  console.log(`kernel installed in ${path.relative(root, jupyterHome)}/, support.ts and the notebooks' code typechecked (${((Date.now() - t0) / 1000).toFixed(1)} s)`);

  const results: (RetriedCheck & { seconds: number })[] = [];
  let failed = 0;
  for (const name of names) {
    const start = Date.now();
    const outFile = path.join(outDir, name);
    try {
      const result = await runWithRetries(
        name,
        async () => {
          fs.rmSync(outFile, { force: true });
          run(
            NBCONVERT,
            [
              '--to',
              'notebook',
              '--execute',
              // Errors are kept in the output, so that the checker can name the cell and show its traceback.
              '--allow-errors',
              `--ExecutePreprocessor.timeout=${timeout}`,
              '--ExecutePreprocessor.kernel_name=deno',
              '--output-dir',
              outDir,
              '--output',
              name,
              path.join(notebooksDir, name),
            ],
            notebooksDir,
            env,
            `jupyter nbconvert --execute ${name}`,
          );
          return JSON.parse(fs.readFileSync(outFile, 'utf8')) as unknown;
        },
        (line) => console.log(line),
      );
      const seconds = (Date.now() - start) / 1000;
      results.push({ ...result, seconds });
      const retried = result.attempts > 1 ? ` after ${result.attempts} attempts` : '';
      if (result.problems.length === 0) {
        console.log(`${name}: ok, ${result.codeCells} code cells, ${result.pictureCells} pictures, ${seconds.toFixed(1)} s${retried} -> ${path.relative(root, outFile)}`);
      } else {
        failed++;
        console.error(`${name}: FAILED${retried} (${seconds.toFixed(1)} s), executed copy in ${path.relative(root, outFile)}`);
        for (const p of result.problems) console.error(`  ${p.message.replace(/\n/g, '\n    ')}`);
      }
    } catch (e) {
      failed++;
      console.error(`${name}: FAILED (${((Date.now() - start) / 1000).toFixed(1)} s): ${(e as Error).message}`);
    }
  }
  const total = (Date.now() - t0) / 1000;
  console.log(`notebooks: ${names.length - failed} of ${names.length} passed in ${total.toFixed(1)} s (${results.map((r) => `${r.notebook} ${r.seconds.toFixed(1)} s`).join(', ')})`);
  if (failed > 0) process.exitCode = 1;
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exitCode = 1;
});
