/**
 * The import graph of `src/`, read from the source text: which folder ("room") imports which.
 * Used by the architecture test (no cycles between rooms); run as a script (compiled) with the
 * path of `src/` to print the cycles and the files that make them.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface ImportEdge {
  /** Importing file, relative to src/ (e.g. `model/mask_rcnn.ts`). */
  from: string;
  /** Imported file or folder, relative to src/, without extension. */
  to: string;
}

/** Every `import ... from '...'`, `export ... from '...'` and `import('...')` with a relative path. */
const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]*)['"]/g;

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTs(p));
    else if (entry.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

export function readImportEdges(srcDir: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const file of listTs(srcDir)) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT_RE)) {
      let target = path.resolve(path.dirname(file), m[1]);
      if (fs.existsSync(target) && fs.statSync(target).isDirectory()) target = path.join(target, 'index');
      edges.push({ from: path.relative(srcDir, file), to: path.relative(srcDir, target) });
    }
  }
  return edges;
}

/** The room of a path relative to src/: its first folder; a file at the top is a room of its own. */
export function roomOf(rel: string): string {
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.ts$/, '');
}

/** Room -> rooms it imports (itself excluded), with the files that make each edge. */
export function roomGraph(edges: readonly ImportEdge[]): Map<string, Map<string, string[]>> {
  const g = new Map<string, Map<string, string[]>>();
  for (const e of edges) {
    const a = roomOf(e.from);
    const b = roomOf(e.to);
    if (a === b) continue;
    if (!g.has(a)) g.set(a, new Map());
    const targets = g.get(a)!;
    if (!targets.has(b)) targets.set(b, []);
    targets.get(b)!.push(`${e.from} -> ${e.to}`);
  }
  return g;
}

/** Strongly connected components with more than one room (Tarjan): each is a cycle of rooms. */
export function roomCycles(g: Map<string, Map<string, string[]>>): string[][] {
  const nodes = new Set<string>();
  for (const [a, ts] of g) {
    nodes.add(a);
    for (const b of ts.keys()) nodes.add(b);
  }
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) out.push(comp.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!idx.has(v)) visit(v);
  return out;
}

if (require.main === module) {
  const g = roomGraph(readImportEdges(path.resolve(process.argv[2] ?? 'src')));
  for (const comp of roomCycles(g)) {
    console.log(`cycle: ${comp.join(', ')}`);
    for (const a of comp)
      for (const [b, files] of g.get(a) ?? []) if (comp.includes(b)) console.log(`  ${a} -> ${b}: ${files.join('; ')}`);
  }
}
