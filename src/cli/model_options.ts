/** Option parsing and path checks shared by the commands. */
import * as fs from 'fs';
import * as path from 'path';
import { InvalidArgumentError } from 'commander';

/**
 * Parses a number in [lo, hi] for commander, naming the option in the error.
 *
 * @example
 * ```ts
 * program.option('--score-threshold <p>', 'minimum score', numberIn(0, 1));
 * ```
 */
export function numberIn(lo: number, hi: number, integer = false): (value: string) => number {
  return (value: string) => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v) || v < lo || v > hi || (integer && !Number.isInteger(v))) {
      throw new InvalidArgumentError(`expected ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], got '${value}'`);
    }
    return v;
  };
}

/**
 * What `--weights` may be, for error messages.
 *
 * @example
 * ```ts
 * throw new Error(`Error in predict: --weights ${p} does not exist; expected ${WEIGHTS_EXPECTED}`);
 * ```
 */
export const WEIGHTS_EXPECTED = 'a torchvision checkpoint (.pth / .pt) or a folder saved by maskrcnn-tfjs (holding model.json)';

/** Whether a `--weights` value names a file or folder rather than something `load` resolves itself. */
function looksLikePath(p: string): boolean {
  return p.startsWith('file://') || /[/\\]/.test(p) || /\.(pth|pt|json)$/i.test(p) || fs.existsSync(p);
}

/** `fs.statSync(p)`, or `fail` with 'does not exist' / 'cannot be read (...)'. */
function statOrFail(p: string, fail: (what: string) => never): fs.Stats {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' || code === 'ENOTDIR' ? 'does not exist' : `cannot be read (${(e as Error).message})`);
  }
}

/**
 * Checks a weights path before a model is loaded, so that a typo costs no load time and the error
 * names the option, the path and what was expected instead of a bare `ENOENT`. URLs (`http://`,
 * ...) and bare names that are not an existing file or folder are left to `load`.
 *
 * @param command the subcommand, for the message (`predict`, `eval`, ...).
 * @param option the option, for the message (`--weights`, `init in --config x.json`).
 * @throws Error: missing, unreadable, empty, a folder without model.json, or a file that is neither.
 * @example
 * ```ts
 * checkWeightsPath('predict', '--weights', 'model.pth');
 * // Error in predict: --weights model.pth does not exist; expected a torchvision checkpoint (.pth / .pt) or ...
 * ```
 */
export function checkWeightsPath(command: string, option: string, weights: string): void {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(weights) && !weights.startsWith('file://')) return;
  if (!looksLikePath(weights)) return;
  const p = weights.startsWith('file://') ? weights.slice('file://'.length) : weights;
  const fail = (what: string): never => {
    throw new Error(`Error in ${command}: ${option} ${weights} ${what}; expected ${WEIGHTS_EXPECTED}`);
  };
  const st = statOrFail(p, fail);
  if (st.isDirectory()) {
    if (!fs.existsSync(path.join(p, 'model.json'))) fail('is a folder without model.json');
    return;
  }
  if (!/\.(pth|pt|json)$/i.test(p)) fail('is neither a .pth / .pt checkpoint nor model.json');
  if (st.size === 0) fail('is empty (0 bytes)');
  checkReadable(p, () => fail('is not readable (permission denied)'));
}

/**
 * Checks that an input file given by an option exists and is a readable file (or folder), naming
 * the option, the path and what it should hold.
 *
 * @param expected what the file should be, e.g. `'a COCO instances JSON (images, annotations, categories)'`.
 * @throws Error: `Error in <command>: <option> <path> does not exist; expected <expected>`, and so on.
 * @example
 * ```ts
 * checkInputPath('eval', '--gt', 'instances.json', 'file', 'a COCO instances JSON');
 * checkInputPath('eval', '--images', 'val/images', 'folder', 'the folder of the images named in --gt');
 * ```
 */
export function checkInputPath(command: string, option: string, p: string, kind: 'file' | 'folder', expected: string): void {
  const fail = (what: string): never => {
    throw new Error(`Error in ${command}: ${option} ${p} ${what}; expected ${expected}`);
  };
  const st = statOrFail(p, fail);
  if (kind === 'file' && !st.isFile()) fail(st.isDirectory() ? 'is a folder' : 'is not a regular file');
  if (kind === 'folder' && !st.isDirectory()) fail('is not a folder');
  checkReadable(p, () => fail('is not readable (permission denied)'));
}

function checkReadable(p: string, fail: () => never): void {
  try {
    fs.accessSync(p, fs.constants.R_OK);
  } catch {
    fail();
  }
}
