import { readFileSync } from 'fs';
import { builtinModules } from 'module';
import * as path from 'path';

/**
 * The drawing must run in browsers: nothing that `src/viz/index.ts` loads, directly or through
 * other modules of ours, may import a Node built-in or a Node-only package. Type-only imports
 * vanish from the compiled code and are not followed.
 */
const NODE_ONLY = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'sharp', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu']);

/** Module specifiers that a file loads at run time. */
function runtimeImports(source: string): string[] {
  const specs: string[] = [];
  const statement = /^\s*(import|export)\s+(type\s+)?[^;]*?\bfrom\s+'([^']+)'/gm;
  for (const m of source.matchAll(statement)) if (!m[2]) specs.push(m[3]);
  for (const m of source.matchAll(/^\s*import\s+'([^']+)'/gm)) specs.push(m[1]);
  for (const m of source.matchAll(/\brequire\(\s*'([^']+)'\s*\)|\bimport\(\s*'([^']+)'\s*\)/g)) specs.push(m[1] ?? m[2]);
  return specs;
}

function closure(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    const specs = runtimeImports(readFileSync(file, 'utf8'));
    seen.set(file, specs);
    for (const s of specs) if (s.startsWith('.')) visit(resolveTs(path.resolve(path.dirname(file), s)));
  };
  visit(entry);
  return seen;
}

function resolveTs(p: string): string {
  for (const candidate of [`${p}.ts`, path.join(p, 'index.ts')]) {
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // try the next
    }
  }
  throw new Error(`cannot resolve ${p}`);
}

test('src/viz (without png.ts) loads no Node built-in or Node-only package', () => {
  const files = closure(path.join(__dirname, '../../src/viz/index.ts'));
  expect([...files.keys()].map((f) => path.relative(path.join(__dirname, '../../src'), f)).sort()).toEqual(
    expect.arrayContaining([
      ...['index', 'overlay', 'training_curves', 'draw', 'palette', 'bitmap_font', 'ticks', 'options'].map((f) => `viz/${f}.ts`),
      ...['colormap', 'rgba', 'legend', 'image_grid', 'box_layers', 'heatmap', 'histogram', 'mask_grid'].map((f) => `viz/${f}.ts`),
      'api/detection_masks.ts',
    ]),
  );
  const offending = [...files].flatMap(([file, specs]) => specs.filter((s) => NODE_ONLY.has(s)).map((s) => `${file}: ${s}`));
  expect(offending).toEqual([]);
  expect([...files.keys()].some((f) => f.endsWith('viz/png.ts') || f.endsWith('api/model.ts') || f.endsWith('train/history.ts'))).toBe(false);
});

test('the check itself sees the Node imports of png.ts', () => {
  const specs = runtimeImports(readFileSync(path.join(__dirname, '../../src/viz/png.ts'), 'utf8'));
  expect(specs).toEqual(expect.arrayContaining(['fs', 'sharp']));
  expect(specs).not.toContain('../api/model'); // a type-only import
});
