/**
 * Runs a TypeScript snippet in a fresh Node process and reports its exit, output and peak
 * resident memory. For the hostile-input tests that must hold a memory bound: the jest worker's
 * own heap (tfjs, other suites) would hide a bomb's cost, a child process does not.
 *
 * The child compiles `.ts` files on require with @swc/core (as jest does), so the snippet can
 * `require(root + '/src/...')` the library's sources. `root` is the repository root, given to
 * the snippet as a variable.
 */
import { spawn } from 'child_process';
import * as path from 'path';

/** What the child did. */
export interface ChildResult {
  /** Exit code (null when killed). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Peak resident set size of the child itself, MiB (VmHWM of /proc/self/status). */
  readonly maxRssMiB: number;
}

/** The repository root. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');

const MARKER = '__child_max_rss_kib__=';

// Registers a .ts require hook (swc, CommonJS), then runs the snippet as an async function body.
const BOOTSTRAP = `
const fs = require('fs');
const swc = require('@swc/core');
require.extensions['.ts'] = (module, filename) => {
  const src = fs.readFileSync(filename, 'utf8');
  const out = swc.transformSync(src, { filename, jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' }, sourceMaps: 'inline' });
  module._compile(out.code, filename);
};
// The child's own peak (VmHWM): getrusage's maxRSS would carry the parent's high-water mark,
// which Linux keeps across fork and exec.
const peakKiB = () => {
  const m = /VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
};
const report = () => process.stdout.write('\\n${MARKER}' + peakKiB() + '\\n');
process.on('exit', report);
const body = swc.transformSync('(async (root) => {' + process.env.CHILD_SNIPPET + '\\n})', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }).code;
eval(body)(process.env.CHILD_ROOT).then(() => process.exit(0), (e) => { console.error(e && e.stack || String(e)); process.exit(3); });
`;

/**
 * Runs `snippet` (the body of an async function of `root`) in a new Node process.
 *
 * @example
 * ```ts
 * const r = await runInChild(`const { readImage } = require(root + '/src/data/image_io'); await readImage('/tmp/bomb.png');`);
 * expect(r.maxRssMiB).toBeLessThan(500);
 * ```
 */
export function runInChild(snippet: string, options: { env?: Record<string, string> } = {}): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', BOOTSTRAP], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...options.env, CHILD_SNIPPET: snippet, CHILD_ROOT: REPO_ROOT },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const at = stdout.lastIndexOf(MARKER);
      const kib = at >= 0 ? Number(stdout.slice(at + MARKER.length).trim()) : NaN;
      resolve({ code, stdout: at >= 0 ? stdout.slice(0, at) : stdout, stderr, maxRssMiB: kib / 1024 });
    });
  });
}
