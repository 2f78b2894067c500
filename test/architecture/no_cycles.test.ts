/**
 * The rooms of `src/` (its folders) import each other without cycles, so the layering of
 * docs/architecture.md holds: a room can be read, tested and moved with only the rooms below it.
 */
import * as fs from 'fs';
import * as path from 'path';
import { readImportEdges, roomCycles, roomGraph } from './import_graph';

const SRC = path.resolve(__dirname, '..', '..', 'src');

describe('import graph of src/', () => {
  const edges = readImportEdges(SRC);
  const graph = roomGraph(edges);

  it('reads the imports it should (type imports, re-exports, folder imports)', () => {
    const has = (from: string, to: string) => edges.some((e) => e.from === from && e.to === to);
    expect(has('model/mask_rcnn.ts', 'rpn/region_proposal_network')).toBe(true);
    expect(has('model/mask_rcnn.ts', 'backbone/resnet')).toBe(true); // `import type`
    expect(has('index.ts', 'viz/png')).toBe(true); // `export ... from`
    expect(has('eval/coco_evaluator.ts', 'eval/accumulate')).toBe(true); // within a room
    expect(edges.length).toBeGreaterThan(300);
    expect(graph.get('model')?.has('rpn')).toBe(true);
  });

  it('finds a cycle when there is one', () => {
    const g = roomGraph([
      { from: 'a/x.ts', to: 'b/y' },
      { from: 'b/y.ts', to: 'c/z' },
      { from: 'c/z.ts', to: 'a/x' },
      { from: 'c/z.ts', to: 'd/w' },
      { from: 'top.ts', to: 'a/x' },
    ]);
    expect(roomCycles(g)).toEqual([['a', 'b', 'c']]);
  });

  it('has no cycle between rooms', () => {
    const cycles = roomCycles(graph).map((rooms) => {
      const why = rooms.flatMap((a) => [...(graph.get(a) ?? [])].filter(([b]) => rooms.includes(b)).flatMap(([, files]) => files));
      return `${rooms.join(' <-> ')}: ${why.join('; ')}`;
    });
    expect(cycles).toEqual([]);
  });

  it('is the graph docs/architecture.md shows', () => {
    const doc = fs.readFileSync(path.resolve(__dirname, '..', '..', 'docs', 'architecture.md'), 'utf8');
    const block = doc.split('The import graph measured on this layout')[1]?.split('```')[1];
    expect(block).toBeDefined();
    const documented = new Map<string, string[]>();
    for (const line of block!.split('\n')) {
      const m = /^(\S+)\s*->\s*([a-z ]*?)\s*(\(|$)/.exec(line.trim());
      if (m) documented.set(m[1], m[2].split(/\s+/).filter(Boolean).sort());
      const leaves = /^([a-z, ]+?)\s+\(import no other room\)/.exec(line.trim());
      if (leaves) for (const r of leaves[1].split(/,\s*/)) documented.set(r, []);
    }
    const measured = new Map<string, string[]>();
    for (const [a, targets] of graph) if (a !== 'index' && a !== 'backend') measured.set(a, [...targets.keys()].sort());
    const rooms = new Set([...graph.values()].flatMap((t) => [...t.keys()]));
    for (const r of rooms) if (!measured.has(r) && r !== 'backend') measured.set(r, []);
    expect(Object.fromEntries([...documented].sort())).toEqual(Object.fromEntries([...measured].sort()));
  });
});
