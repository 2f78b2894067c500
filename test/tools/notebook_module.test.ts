import { notebookAsModule } from '../../tools/notebooks/notebook_module';

const options = { relativePrefix: '../', libraryTypes: '../../dist/index.d.ts' };

function code(source: string | string[]) {
  return { cell_type: 'code', metadata: {}, outputs: [], execution_count: null, source };
}

describe('notebookAsModule', () => {
  it('joins the code cells in order, each after a line naming its cell, leaving markdown out', () => {
    const nb = { cells: [{ cell_type: 'markdown', source: '# x' }, code(['const a = 1;\n', 'console.log(a);']), code('const b = a + 1;')] };
    expect(notebookAsModule(nb, 'n.ipynb', options)).toBe(
      '// The code cells of n.ipynb, in order (written by tools/notebooks/notebook_module.ts for deno check).\n' +
        '// cell 2\nconst a = 1;\nconsole.log(a);\n// cell 3\nconst b = a + 1;\n',
    );
  });

  it('names the library types before every import of maskrcnn-tfjs, one-line or multi-line', () => {
    const nb = { cells: [code("import { load } from 'maskrcnn-tfjs';\nimport {\n  a,\n  b,\n} from \"maskrcnn-tfjs\";\nimport * as tf from '@tensorflow/tfjs';")] };
    const lines = notebookAsModule(nb, 'n.ipynb', options).split('\n');
    expect(lines.slice(2)).toEqual([
      '// @ts-types="../../dist/index.d.ts"',
      "import { load } from 'maskrcnn-tfjs';",
      '// @ts-types="../../dist/index.d.ts"',
      'import {',
      '  a,',
      '  b,',
      '} from "maskrcnn-tfjs";',
      "import * as tf from '@tensorflow/tfjs';",
      '',
    ]);
  });

  it('points relative imports at the notebooks folder, and nothing else', () => {
    const nb = { cells: [code("import { check } from './support.ts';\nconst m = await import('./extra.ts');\nconst s = './support.ts';")] };
    const text = notebookAsModule(nb, 'n.ipynb', options);
    expect(text).toContain("import { check } from '../support.ts';");
    expect(text).toContain("await import('../extra.ts')");
    expect(text).toContain("const s = './support.ts';");
  });

  it('gives an empty module for a notebook without code, and rejects one without cells', () => {
    expect(notebookAsModule({ cells: [] }, 'n.ipynb', options).split('\n')).toHaveLength(2);
    expect(() => notebookAsModule({}, 'bad.ipynb', options)).toThrow('Error in notebookAsModule: bad.ipynb is not a notebook (no cells list)');
  });
});
