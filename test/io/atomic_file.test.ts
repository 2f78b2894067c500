/**
 * atomic_file.ts, the one home of all-or-nothing writes: each point of its crash-safety sentence
 * (temporary file in the same folder, fsync, rename, fsync of the folder; a failure leaves the old
 * file and no temporary file; leftovers of dead writers cleaned up) has a test here.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  commitStaged,
  discardStaged,
  parseTempName,
  removeStaleTemps,
  stageFile,
  writeFileAtomic,
  writeFolderAtomic,
} from '../../src/io/atomic_file';
import { deadPid, diskFullAfter, recordSyncsAndRenames, withoutTokens } from './support/fs_spies';

describe('atomic writes', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-atomic-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function* failingAfterOneChunk(): Generator<Uint8Array> {
    yield new Uint8Array(1000).fill(7);
    throw new Error('interrupted');
  }

  it('a file interrupted mid-write leaves the old file as it was and no temporary file', async () => {
    const file = path.join(dir, 'model.pth');
    fs.writeFileSync(file, 'old');
    await expect(writeFileAtomic(file, failingAfterOneChunk())).rejects.toThrow('interrupted');
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(fs.readdirSync(dir)).toEqual(['model.pth']);
    // And with no old file, nothing at all.
    fs.rmSync(file);
    await expect(writeFileAtomic(file, failingAfterOneChunk())).rejects.toThrow('interrupted');
    expect(fs.readdirSync(dir)).toEqual([]);
    expect(await writeFileAtomic(file, [new Uint8Array([1, 2]), new Uint8Array([3])])).toBe(3);
    expect([...fs.readFileSync(file)]).toEqual([1, 2, 3]);
    expect(await writeFileAtomic(file, 'text, é')).toBe(8); // é is two bytes in UTF-8
    expect(fs.readFileSync(file, 'utf8')).toBe('text, é');
  });

  it('a write whose disk fails (ENOSPC) or whose rename fails leaves the old file and no temporary file', async () => {
    const file = path.join(dir, 'results.json');
    fs.writeFileSync(file, 'old');
    const full = await diskFullAfter(dir, 1);
    try {
      await expect(writeFileAtomic(file, [new Uint8Array(10), new Uint8Array(10)])).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      full.restore();
    }
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(fs.readdirSync(dir)).toEqual(['results.json']);
    // A folder in the way: the rename fails, the temporary file goes.
    const blocked = path.join(dir, 'blocked');
    fs.mkdirSync(blocked);
    fs.writeFileSync(path.join(blocked, 'inside'), 'x');
    await expect(writeFileAtomic(blocked, 'new')).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST|EPERM/);
    expect(fs.readdirSync(dir).sort()).toEqual(['blocked', 'results.json']);
  });

  it('fsyncs the temporary file before the rename and the folder after it', async () => {
    const file = path.join(dir, 'a.json');
    const { events, restore } = await recordSyncsAndRenames(dir);
    try {
      await writeFileAtomic(file, '{}');
    } finally {
      restore();
    }
    expect(events).toHaveLength(3);
    expect(events[0]).toMatch(/^sync \.a\.json\.tmp-\d+-[0-9a-z]{8}$/);
    expect(events[1]).toMatch(/^rename \.a\.json\.tmp-\d+-[0-9a-z]{8} -> a\.json$/);
    expect(events[2]).toBe(`sync ${path.basename(dir)}`);
  });

  it('staged files land in the order given, after all are fsynced; discarded ones leave nothing', async () => {
    fs.writeFileSync(path.join(dir, 'model.json'), 'old');
    const { events, restore } = await recordSyncsAndRenames(dir);
    try {
      const staged = [await stageFile(path.join(dir, 'shard.bin'), new Uint8Array(4)), await stageFile(path.join(dir, 'model.json'), 'new')];
      expect(fs.readFileSync(path.join(dir, 'model.json'), 'utf8')).toBe('old');
      await commitStaged(staged);
    } finally {
      restore();
    }
    expect(events.map(withoutTokens)).toEqual([
      'sync .shard.bin.tmp',
      'sync .model.json.tmp',
      'rename .shard.bin.tmp -> shard.bin',
      'rename .model.json.tmp -> model.json',
      `sync ${path.basename(dir)}`,
    ]);
    const dropped = [await stageFile(path.join(dir, 'x'), 'x')];
    await discardStaged(dropped);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'shard.bin']);
  });

  it('a folder is filled under a temporary name: a failed fill leaves nothing, an existing folder is replaced only when asked', async () => {
    const out = path.join(dir, 'model');
    await expect(
      writeFolderAtomic(out, async (tmp) => {
        fs.writeFileSync(path.join(tmp, 'model.json'), '{}');
        throw new Error('interrupted');
      }),
    ).rejects.toThrow('interrupted');
    expect(fs.readdirSync(dir)).toEqual([]);
    await writeFolderAtomic(out, async (tmp) => fs.writeFileSync(path.join(tmp, 'a'), '1'));
    await expect(writeFolderAtomic(out, async (tmp) => fs.writeFileSync(path.join(tmp, 'b'), '2'))).rejects.toThrow(`${out} exists`);
    await expect(
      writeFolderAtomic(out, async () => { throw new Error('interrupted'); }, { replace: true }),
    ).rejects.toThrow('interrupted');
    expect(fs.readdirSync(out)).toEqual(['a']);
    await writeFolderAtomic(out, async (tmp) => fs.writeFileSync(path.join(tmp, 'b'), '2'), { replace: true });
    expect(fs.readdirSync(out)).toEqual(['b']);
    expect(fs.readdirSync(dir)).toEqual(['model']);
  });

  it("fsyncs every file of a folder before it is renamed into place, and the parent after", async () => {
    const out = path.join(dir, 'ckpt');
    const { events, restore } = await recordSyncsAndRenames(dir);
    try {
      await writeFolderAtomic(out, async (tmp) => {
        fs.mkdirSync(path.join(tmp, 'weights'));
        fs.writeFileSync(path.join(tmp, 'weights', 'model.json'), '{}');
        fs.writeFileSync(path.join(tmp, 'manifest.json'), '{}');
      });
    } finally {
      restore();
    }
    const plain = events.map(withoutTokens);
    expect(plain.slice(-2)).toEqual(['rename .ckpt.tmp -> ckpt', `sync ${path.basename(dir)}`]);
    expect(plain.slice(0, -2).sort()).toEqual(['sync .ckpt.tmp', 'sync manifest.json', 'sync model.json', 'sync weights']);
  });
});

describe('leftovers of interrupted writes', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-stale-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('names are taken apart, earlier versions\' names too', () => {
    expect(parseTempName('.model.json.tmp-4242-k3j9x0aa')).toEqual({ target: 'model.json', kind: 'tmp', pid: 4242 });
    expect(parseTempName('.step-000300.old-7-p0q1w2e3')).toEqual({ target: 'step-000300', kind: 'old', pid: 7 });
    expect(parseTempName('latest.tmp-12')).toEqual({ target: 'latest', kind: 'tmp', pid: 12 });
    expect(parseTempName('group1-shard1of2.bin.tmp-12-1700000000000')).toEqual({ target: 'group1-shard1of2.bin', kind: 'tmp', pid: 12 });
    expect(parseTempName('model.json')).toBeUndefined();
    expect(parseTempName('.tmp-12')).toBeUndefined();
  });

  it('removes what dead writers and this process left, keeps live writers\' and others\' files, moves a stranded folder back', async () => {
    const dead = deadPid();
    const mine = (n: string) => n.startsWith('step-') || n === 'latest';
    fs.mkdirSync(path.join(dir, `.step-000002.tmp-${dead}-abcdefgh`));
    fs.writeFileSync(path.join(dir, `.latest.tmp-${dead}-abcdefgh`), 'x');
    fs.mkdirSync(path.join(dir, `.step-000003.tmp-${process.pid}-abcdefgh`)); // this process, not in progress
    fs.mkdirSync(path.join(dir, `.step-000004.tmp-${process.ppid}-abcdefgh`)); // a live writer
    fs.mkdirSync(path.join(dir, `.step-000005.old-${dead}-abcdefgh`)); // stranded: moved back
    fs.writeFileSync(path.join(dir, `.step-000005.old-${dead}-abcdefgh`, 'kept'), 'x');
    fs.mkdirSync(path.join(dir, 'step-000006'));
    fs.mkdirSync(path.join(dir, `.step-000006.old-${dead}-abcdefgh`)); // replacement landed: removed
    fs.writeFileSync(path.join(dir, `.notes.tmp-${dead}-abcdefgh`), 'not ours'); // not ours
    const handled = await removeStaleTemps(dir, mine);
    expect(handled).toHaveLength(5);
    expect(fs.readdirSync(dir).sort()).toEqual([`.notes.tmp-${dead}-abcdefgh`, `.step-000004.tmp-${process.ppid}-abcdefgh`, 'step-000005', 'step-000006']);
    expect(fs.readdirSync(path.join(dir, 'step-000005'))).toEqual(['kept']);
  });

  it('never removes a temporary file this process is still writing', async () => {
    let seen: string[] = [];
    await writeFolderAtomic(path.join(dir, 'out'), async (tmp) => {
      fs.writeFileSync(path.join(tmp, 'a'), '1');
      seen = await removeStaleTemps(dir, () => true);
    });
    expect(seen).toEqual([]);
    expect(fs.readdirSync(dir)).toEqual(['out']);
  });
});
