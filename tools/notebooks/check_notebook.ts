/**
 * Checks an executed notebook (nbformat 4 JSON, as `jupyter nbconvert --execute` writes it): no
 * cell may hold an error output, every cell tagged `picture` must hold an `image/png` output, and
 * every cell that shows a picture must be tagged `picture` (so that a lost picture is noticed).
 *
 * The two problems are treated differently by {@link runWithRetries}: a cell error fails the
 * notebook at once, while a missing picture in a cell that ran without error is retried, because
 * Deno's Jupyter kernel has been seen to drop display messages now and then (the cell ran, its
 * `Deno.jupyter.display` call returned, and no `display_data` reached the notebook).
 */

/** The tag that marks a cell whose output must include a picture. */
export const PICTURE_TAG = 'picture';

/** The MIME type a picture cell must output. */
export const PICTURE_MIME = 'image/png';

/**
 * Times a notebook is executed at most when only pictures are missing.
 *
 * @example
 * ```ts
 * await runWithRetries('a.ipynb', execute, console.log, MAX_ATTEMPTS);
 * ```
 */
export const MAX_ATTEMPTS = 3;

/** One problem found in an executed notebook. */
export interface NotebookProblem {
  /**
   * `'error'`: the cell raised; `'missing-picture'`: a `picture` cell has no image/png output;
   * `'untagged-picture'`: a cell shows a picture but is not tagged `picture`.
   */
  readonly kind: 'error' | 'missing-picture' | 'untagged-picture';
  /** 1-based position of the cell among all cells of the notebook (markdown included). */
  readonly cell: number;
  /** Says which notebook and cell, and what went wrong. */
  readonly message: string;
}

/** What {@link checkNotebook} found. */
export interface NotebookCheck {
  readonly notebook: string;
  readonly problems: readonly NotebookProblem[];
  /** Cells tagged `picture`. */
  readonly pictureCells: number;
  /** Code cells. */
  readonly codeCells: number;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.filter((s): s is string => typeof s === 'string').join('');
  return '';
}

/** The first non-empty line of a cell's source, shortened, to name the cell in messages. */
function firstLine(source: unknown): string {
  const line = text(source).split('\n').find((l) => l.trim() !== '') ?? '';
  const s = line.trim();
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

// Tracebacks of some kernels carry ANSI colour codes; messages are read in CI logs.
const ANSI = new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g');

/**
 * Checks one executed notebook. Throws when `notebook` is not nbformat JSON with a `cells` list;
 * returns every problem otherwise (an empty list when the notebook passes).
 *
 * @param notebook the parsed JSON of the executed notebook
 * @param name the notebook's name, used in every message
 * @example
 * ```ts
 * const result = checkNotebook(JSON.parse(fs.readFileSync('out/a.ipynb', 'utf8')), 'a.ipynb');
 * for (const p of result.problems) console.error(p.message);
 * ```
 */
export function checkNotebook(notebook: unknown, name: string): NotebookCheck {
  if (!isObject(notebook) || !Array.isArray(notebook.cells)) {
    throw new Error(`Error in checkNotebook: ${name} is not a notebook (no cells list)`);
  }
  const problems: NotebookProblem[] = [];
  let pictureCells = 0;
  let codeCells = 0;
  notebook.cells.forEach((cell: unknown, i: number) => {
    const n = i + 1;
    if (!isObject(cell)) throw new Error(`Error in checkNotebook: ${name} cell ${n} is not an object`);
    if (cell.cell_type !== 'code') return;
    codeCells++;
    const where = `${name} cell ${n} (${firstLine(cell.source) || 'empty'})`;
    const outputs = Array.isArray(cell.outputs) ? cell.outputs.filter(isObject) : [];
    const tags = isObject(cell.metadata) && Array.isArray(cell.metadata.tags) ? cell.metadata.tags : [];
    for (const o of outputs) {
      if (o.output_type !== 'error') continue;
      const traceback = text(Array.isArray(o.traceback) ? o.traceback.join('\n') : '').replace(ANSI, '');
      const head = `${String(o.ename ?? 'Error')}: ${String(o.evalue ?? '')}`;
      problems.push({ kind: 'error', cell: n, message: `${where} failed: ${traceback.includes(head) ? traceback : `${head}\n${traceback}`}`.trimEnd() });
    }
    const hasPicture = outputs.some(
      (o) => (o.output_type === 'display_data' || o.output_type === 'execute_result') && isObject(o.data) && typeof o.data[PICTURE_MIME] === 'string' && o.data[PICTURE_MIME] !== '',
    );
    if (tags.includes(PICTURE_TAG)) {
      pictureCells++;
      // A cell that raised has no picture for that reason; the error is the problem to report.
      if (!hasPicture && !problems.some((p) => p.cell === n)) {
        problems.push({ kind: 'missing-picture', cell: n, message: `${where} is tagged '${PICTURE_TAG}' but has no ${PICTURE_MIME} output` });
      }
    } else if (hasPicture) {
      problems.push({ kind: 'untagged-picture', cell: n, message: `${where} shows a picture but is not tagged '${PICTURE_TAG}' (add the tag to its metadata.tags)` });
    }
  });
  return { notebook: name, problems, pictureCells, codeCells };
}

/**
 * True when the only problems are missing pictures: the case (and the only case) worth running the
 * notebook again, see the file comment.
 *
 * @example
 * ```ts
 * if (onlyMissingPictures(result)) console.log('retrying');
 * ```
 */
export function onlyMissingPictures(result: NotebookCheck): boolean {
  return result.problems.length > 0 && result.problems.every((p) => p.kind === 'missing-picture');
}

/** What {@link runWithRetries} returns: the last check and how many executions it took. */
export interface RetriedCheck extends NotebookCheck {
  readonly attempts: number;
}

/**
 * Executes a notebook and checks it, again (up to `maxAttempts` in all) only while the sole
 * problems are missing pictures; a cell error ends it at once. An exception of `execute` (the
 * executor itself failed) is not retried either.
 *
 * @param execute runs the notebook once (attempt is 1-based) and returns the executed JSON
 * @param log receives a line for every retry, naming the cells that lost their picture
 * @example
 * ```ts
 * const result = await runWithRetries('a.ipynb', async () => runNbconvert('a.ipynb'), console.log);
 * if (result.problems.length > 0) process.exitCode = 1;
 * ```
 */
export async function runWithRetries(
  name: string,
  execute: (attempt: number) => Promise<unknown>,
  log: (line: string) => void,
  maxAttempts = MAX_ATTEMPTS,
): Promise<RetriedCheck> {
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error(`Error in runWithRetries: maxAttempts must be a positive integer, got ${maxAttempts}`);
  for (let attempt = 1; ; attempt++) {
    const result = checkNotebook(await execute(attempt), name);
    if (!onlyMissingPictures(result) || attempt === maxAttempts) return { ...result, attempts: attempt };
    const cells = result.problems.map((p) => p.cell).join(', ');
    log(`${name}: no ${PICTURE_MIME} output in picture cell(s) ${cells} although no cell failed (Deno's kernel drops display messages now and then); running it again, attempt ${attempt + 1} of ${maxAttempts}`);
  }
}
