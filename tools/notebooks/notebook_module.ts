/**
 * A notebook's code cells as one TypeScript module, so that `deno check` can typecheck what the
 * kernel would only run: Deno's kernel does not typecheck cells, and a wrong field name in a
 * notebook would otherwise be found only when that cell runs (or, in a branch, never).
 *
 * Cells run in order in one scope, so concatenating them in order is the same program. Each cell
 * is preceded by a `// cell N` line, so that a type error's line leads back to its cell.
 */

/** Where the module is written relative to the notebook, and where the library's types are. */
export interface NotebookModuleOptions {
  /**
   * Prefix that turns the notebook's relative imports (`'./support.ts'`) into imports from the
   * module's folder; `'../'` for a module written one folder below the notebooks.
   */
  readonly relativePrefix: string;
  /** Path of the library's `.d.ts` from the module's folder; `maskrcnn-tfjs` is CommonJS JS, its types are separate. */
  readonly libraryTypes: string;
}

/**
 * The code cells of `notebook` as one module (see the file comment). Every import from
 * `maskrcnn-tfjs` gets a `// @ts-types` line naming the library's declarations.
 *
 * @throws Error naming the notebook when it has no cells list.
 * @example
 * ```ts
 * const source = notebookAsModule(JSON.parse(text), 'a.ipynb', { relativePrefix: '../', libraryTypes: '../../dist/index.d.ts' });
 * fs.writeFileSync('notebooks/.executed/a.check.ts', source);
 * ```
 */
export function notebookAsModule(notebook: unknown, name: string, options: NotebookModuleOptions): string {
  const cells = (notebook as { cells?: unknown } | null)?.cells;
  if (!Array.isArray(cells)) throw new Error(`Error in notebookAsModule: ${name} is not a notebook (no cells list)`);
  const parts = [`// The code cells of ${name}, in order (written by tools/notebooks/notebook_module.ts for deno check).`];
  cells.forEach((cell: unknown, i: number) => {
    const c = cell as { cell_type?: unknown; source?: unknown };
    if (c?.cell_type !== 'code') return;
    const source = Array.isArray(c.source) ? c.source.join('') : typeof c.source === 'string' ? c.source : '';
    parts.push(`// cell ${i + 1}`, source);
  });
  return (
    parts
      .join('\n')
      // An import statement from its `import` to `from 'maskrcnn-tfjs'` holds no semicolon.
      .replace(/^(import\b[^;]*?from\s+['"]maskrcnn-tfjs['"])/gm, `// @ts-types="${options.libraryTypes}"\n$1`)
      .replace(/(from\s+|import\s*\(\s*)(['"])\.\//g, `$1$2${options.relativePrefix}`) + '\n'
  );
}
