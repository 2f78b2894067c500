import { checkNotebook, MAX_ATTEMPTS, onlyMissingPictures, runWithRetries } from '../../tools/notebooks/check_notebook';

// Small hand-made executed notebooks, in the shape nbconvert writes them.
const PNG = { output_type: 'display_data', data: { 'image/png': 'iVBORw0KGgo=' }, metadata: {} };
const STREAM = { output_type: 'stream', name: 'stdout', text: ['3 shapes\n'] };
const ERROR = {
  output_type: 'error',
  ename: 'Error',
  evalue: 'check failed: 3 shapes',
  traceback: ['\u001b[31mError: check failed: 3 shapes\u001b[0m', '    at <anonymous>:4:1'],
};

function markdown(text: string) {
  return { cell_type: 'markdown', metadata: {}, source: text };
}

function code(source: string, outputs: unknown[], tags?: string[]) {
  return { cell_type: 'code', execution_count: 1, metadata: tags ? { tags } : {}, source: source.split(/(?<=\n)/), outputs };
}

function notebook(...cells: unknown[]) {
  return { nbformat: 4, nbformat_minor: 5, metadata: {}, cells };
}

const good = () =>
  notebook(
    markdown('# Title'),
    code('const n = 3;\nconsole.log(n);', [STREAM]),
    code('// the samples\nawait showRgba(picture);', [PNG], ['picture']),
  );

describe('checkNotebook', () => {
  it('passes a notebook whose cells ran and whose picture cells show pictures', () => {
    const r = checkNotebook(good(), 'good.ipynb');
    expect(r.problems).toEqual([]);
    expect(r.pictureCells).toBe(1);
    expect(r.codeCells).toBe(2);
    expect(onlyMissingPictures(r)).toBe(false);
  });

  it('reports an error output with the notebook, the cell number, its first line and the traceback without colour codes', () => {
    const nb = good();
    nb.cells[1] = code('const n = 3;\ncheck(n === 4, "3 shapes");', [STREAM, ERROR]);
    const r = checkNotebook(nb, 'data.ipynb');
    expect(r.problems).toHaveLength(1);
    const [p] = r.problems;
    expect(p.kind).toBe('error');
    expect(p.cell).toBe(2);
    expect(p.message).toBe('data.ipynb cell 2 (const n = 3;) failed: Error: check failed: 3 shapes\n    at <anonymous>:4:1');
    expect(onlyMissingPictures(r)).toBe(false);
  });

  it('adds the error name and value when the traceback does not carry them', () => {
    const nb = notebook(code('boom()', [{ output_type: 'error', ename: 'TypeError', evalue: 'boom is not a function', traceback: [] }]));
    expect(checkNotebook(nb, 'a.ipynb').problems[0].message).toBe('a.ipynb cell 1 (boom()) failed: TypeError: boom is not a function');
  });

  it('reports a picture cell without an image/png output', () => {
    const nb = good();
    nb.cells[2] = code('await showRgba(picture);', [STREAM], ['picture']);
    const r = checkNotebook(nb, 'model.ipynb');
    expect(r.problems).toEqual([{ kind: 'missing-picture', cell: 3, message: "model.ipynb cell 3 (await showRgba(picture);) is tagged 'picture' but has no image/png output" }]);
    expect(onlyMissingPictures(r)).toBe(true);
  });

  it('does not count an empty image/png string or an image of another type as a picture', () => {
    const empty = { output_type: 'display_data', data: { 'image/png': '' }, metadata: {} };
    const jpeg = { output_type: 'display_data', data: { 'image/jpeg': '/9j/' }, metadata: {} };
    for (const output of [empty, jpeg]) {
      const r = checkNotebook(notebook(code('show()', [output], ['picture'])), 'a.ipynb');
      expect(r.problems.map((p) => p.kind)).toEqual(['missing-picture']);
    }
  });

  it('reports only the error of a picture cell that raised (its missing picture follows from it)', () => {
    const r = checkNotebook(notebook(code('await showRgba(picture);', [ERROR], ['picture'])), 'a.ipynb');
    expect(r.problems.map((p) => p.kind)).toEqual(['error']);
    expect(onlyMissingPictures(r)).toBe(false);
  });

  it('reports a picture shown by a cell that is not tagged picture', () => {
    const r = checkNotebook(notebook(code('await showRgba(picture);', [PNG])), 'a.ipynb');
    expect(r.problems.map((p) => [p.kind, p.cell])).toEqual([['untagged-picture', 1]]);
    expect(r.problems[0].message).toContain("not tagged 'picture'");
    expect(onlyMissingPictures(r)).toBe(false);
  });

  it('lists every problem of a notebook at once, in cell order', () => {
    const nb = notebook(code('a()', [ERROR]), markdown('x'), code('b()', [], ['picture']), code('c()', [PNG]));
    expect(checkNotebook(nb, 'a.ipynb').problems.map((p) => [p.kind, p.cell])).toEqual([
      ['error', 1],
      ['missing-picture', 3],
      ['untagged-picture', 4],
    ]);
  });

  it('passes a notebook with no code cells, and names an empty cell', () => {
    expect(checkNotebook(notebook(markdown('only text')), 'a.ipynb').problems).toEqual([]);
    expect(checkNotebook(notebook(code('', [], ['picture'])), 'a.ipynb').problems[0].message).toContain('a.ipynb cell 1 (empty)');
  });

  it('rejects JSON that is not a notebook, naming it', () => {
    expect(() => checkNotebook({ worksheets: [] }, 'old.ipynb')).toThrow('Error in checkNotebook: old.ipynb is not a notebook (no cells list)');
    expect(() => checkNotebook(null, 'x.ipynb')).toThrow('x.ipynb is not a notebook');
    expect(() => checkNotebook(notebook(3), 'y.ipynb')).toThrow('y.ipynb cell 1 is not an object');
  });
});

describe('runWithRetries', () => {
  const missing = () => notebook(code('await showRgba(picture);', [], ['picture']));
  const failing = () => notebook(code('await showRgba(picture);', [ERROR], ['picture']));

  async function runSequence(results: unknown[], maxAttempts?: number) {
    const log: string[] = [];
    const attempts: number[] = [];
    const r = await runWithRetries(
      'a.ipynb',
      async (attempt) => {
        attempts.push(attempt);
        return results[attempt - 1];
      },
      (line) => log.push(line),
      maxAttempts,
    );
    return { r, log, attempts };
  }

  it('runs a passing notebook once and logs nothing', async () => {
    const { r, log, attempts } = await runSequence([good()]);
    expect(r.problems).toEqual([]);
    expect(r.attempts).toBe(1);
    expect(attempts).toEqual([1]);
    expect(log).toEqual([]);
  });

  it('retries when only a picture is missing, saying so, and passes when the next run shows it', async () => {
    const { r, log, attempts } = await runSequence([missing(), good()]);
    expect(r.problems).toEqual([]);
    expect(r.attempts).toBe(2);
    expect(attempts).toEqual([1, 2]);
    expect(log).toHaveLength(1);
    expect(log[0]).toContain('a.ipynb: no image/png output in picture cell(s) 1');
    expect(log[0]).toContain(`attempt 2 of ${MAX_ATTEMPTS}`);
  });

  it(`gives up after ${MAX_ATTEMPTS} runs that all lose a picture, returning the last problems`, async () => {
    const { r, log, attempts } = await runSequence([missing(), missing(), missing(), good()]);
    expect(attempts).toEqual([1, 2, 3]);
    expect(r.attempts).toBe(3);
    expect(r.problems.map((p) => p.kind)).toEqual(['missing-picture']);
    expect(log).toHaveLength(2);
  });

  it('never retries a cell error, even when a picture is missing too', async () => {
    const both = notebook(code('a()', [ERROR]), code('b()', [], ['picture']));
    for (const first of [failing(), both]) {
      const { r, log, attempts } = await runSequence([first, good()]);
      expect(attempts).toEqual([1]);
      expect(r.problems.some((p) => p.kind === 'error')).toBe(true);
      expect(log).toEqual([]);
    }
  });

  it('stops at a cell error met on a retry', async () => {
    const { r, attempts } = await runSequence([missing(), failing(), good()]);
    expect(attempts).toEqual([1, 2]);
    expect(r.problems.map((p) => p.kind)).toEqual(['error']);
  });

  it('does not retry an untagged picture, nor a failure of the executor itself', async () => {
    const untagged = notebook(code('show()', [PNG]));
    const { attempts } = await runSequence([untagged, good()]);
    expect(attempts).toEqual([1]);
    let calls = 0;
    await expect(
      runWithRetries(
        'a.ipynb',
        async () => {
          calls++;
          throw new Error('jupyter nbconvert exited with 1');
        },
        () => undefined,
      ),
    ).rejects.toThrow('jupyter nbconvert exited with 1');
    expect(calls).toBe(1);
  });

  it('honours maxAttempts and rejects a bad one', async () => {
    const { attempts } = await runSequence([missing(), missing()], 1);
    expect(attempts).toEqual([1]);
    await expect(runWithRetries('a.ipynb', async () => good(), () => undefined, 0)).rejects.toThrow('maxAttempts must be a positive integer, got 0');
  });
});
