/**
 * downloadWeights against a local server (the network is never used): each point of the crash
 * safety sentence in src/io/download.ts has a case here.
 *
 *  - happy path: file in place, no `.partial` or `.lock` left, progress reported, the second call
 *    makes no request; the cache folder from options, MASKRCNN_HOME and the defaults;
 *  - a connection cut part way keeps the `.partial`, and the next call resumes it with a Range;
 *  - a server that ignores Range (200) makes the download start over, the old bytes dropped, and
 *    so does one that answers another range than the one asked for;
 *  - a `.partial` already whole (416 to the range) is verified and renamed;
 *  - a resumed `.partial` of another file fails the hash and is fetched again from the start;
 *  - a bad hash: file deleted, error with expected and actual hash;
 *  - 404 with the URL; redirects (relative), too many redirects;
 *  - a server that never answers, and one that stalls part way: error after `timeoutMs`;
 *  - disk errors: a cache folder below a file, ENOSPC from the kernel (/dev/full), a file larger
 *    than the free space;
 *  - concurrency: three calls in one process, two processes, a stale lock of a dead process, an
 *    old lock from another host, a live lock whose holder finishes the file;
 *  - options and names checked, listing the valid ones.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import {
  cachedWeightsPath,
  type DownloadProgress,
  downloadWeights,
  weightsCacheDir,
  weightsUrl,
} from '../../src/io/download';
import { WEIGHTS_NAMES, WEIGHTS_REGISTRY, weightsEntry } from '../../src/io/weights_registry';
import { runInChild } from '../support/child_process';
import { entryFor, seededBytes, serveBytes, sha256Hex, WeightsServer } from './support/weights_server';

const PAYLOAD = seededBytes(300_000, 7);

describe('downloadWeights', () => {
  let server: WeightsServer;
  let root: string;
  let cacheDir: string;

  beforeAll(async () => {
    server = await WeightsServer.start();
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'download-test-'));
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  let n = 0;
  beforeEach(() => {
    cacheDir = path.join(root, `cache-${n++}`);
    server.requests.length = 0;
  });

  const files = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).sort() : []);

  it('downloads, verifies and renames into place; the second call makes no request', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    server.handler = serveBytes(PAYLOAD, { piece: 65536 });
    expect(cachedWeightsPath(entry, { cacheDir })).toBeUndefined();
    const seen: DownloadProgress[] = [];
    const file = await downloadWeights(entry, { cacheDir, onProgress: (p) => seen.push(p) });
    expect(file).toBe(path.join(cacheDir, entry.fileName));
    expect(sha256Hex(fs.readFileSync(file))).toBe(sha256Hex(PAYLOAD));
    expect(files()).toEqual([entry.fileName]);
    expect(server.requests).toEqual([{ url: `/models/${entry.fileName}`, range: undefined }]);
    expect(seen[0]).toMatchObject({ name: 'tiny', receivedBytes: 0, totalBytes: PAYLOAD.length, resumedFrom: 0, file });
    expect(seen[seen.length - 1].receivedBytes).toBe(PAYLOAD.length);
    expect(cachedWeightsPath(entry, { cacheDir })).toBe(file);

    expect(await downloadWeights(entry, { cacheDir })).toBe(file);
    expect(server.requests).toHaveLength(1);
  });

  it('resumes a .partial left by a cut connection with a Range request', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    server.handler = serveBytes(PAYLOAD, { cutAfter: 120_000 });
    await expect(downloadWeights(entry, { cacheDir })).rejects.toThrow(
      new RegExp(`GET ${entry.url} stopped after \\d+ of 300000 bytes: .*${entry.fileName}\\.partial is kept and the next call resumes it`),
    );
    expect(files()).toEqual([`${entry.fileName}.partial`]);
    const kept = fs.statSync(path.join(cacheDir, `${entry.fileName}.partial`)).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThanOrEqual(120_000);

    server.handler = serveBytes(PAYLOAD);
    const seen: DownloadProgress[] = [];
    const file = await downloadWeights(entry, { cacheDir, onProgress: (p) => seen.push(p) });
    expect(server.requests[1].range).toBe(`bytes=${kept}-`);
    expect(seen[0]).toMatchObject({ receivedBytes: kept, resumedFrom: kept, totalBytes: PAYLOAD.length });
    expect(sha256Hex(fs.readFileSync(file))).toBe(sha256Hex(PAYLOAD));
    expect(files()).toEqual([entry.fileName]);
  });

  it('starts over when the server ignores the Range (200)', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    fs.mkdirSync(cacheDir);
    fs.writeFileSync(path.join(cacheDir, `${entry.fileName}.partial`), Buffer.alloc(200_000, 0xee)); // wrong bytes: must not survive
    server.handler = serveBytes(PAYLOAD, { ranges: false });
    const file = await downloadWeights(entry, { cacheDir });
    expect(server.requests).toEqual([{ url: `/models/${entry.fileName}`, range: 'bytes=200000-' }]);
    expect(sha256Hex(fs.readFileSync(file))).toBe(sha256Hex(PAYLOAD));
    expect(files()).toEqual([entry.fileName]);
  });

  it('starts over when the server answers a range other than the one asked for', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    fs.mkdirSync(cacheDir);
    fs.writeFileSync(path.join(cacheDir, `${entry.fileName}.partial`), PAYLOAD.subarray(0, 1000));
    const serve = serveBytes(PAYLOAD);
    server.handler = (req, res) => {
      if (req.headers.range === undefined) return serve(req, res);
      res.writeHead(206, { 'Content-Range': `bytes 0-999/${PAYLOAD.length}`, 'Content-Length': 1000 }).end(PAYLOAD.subarray(0, 1000));
    };
    const file = await downloadWeights(entry, { cacheDir });
    expect(server.requests.map((r) => r.range)).toEqual(['bytes=1000-', undefined]);
    expect(sha256Hex(fs.readFileSync(file))).toBe(sha256Hex(PAYLOAD));
  });

  it('renames a .partial that is already whole (416 to the range) after checking its hash', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    fs.mkdirSync(cacheDir);
    fs.writeFileSync(path.join(cacheDir, `${entry.fileName}.partial`), PAYLOAD);
    server.handler = serveBytes(PAYLOAD);
    const file = await downloadWeights(entry, { cacheDir });
    expect(server.requests.map((r) => r.range)).toEqual([`bytes=${PAYLOAD.length}-`]);
    expect(sha256Hex(fs.readFileSync(file))).toBe(sha256Hex(PAYLOAD));
    expect(files()).toEqual([entry.fileName]);
  });

  it('fetches again from the start when a resumed file fails the hash', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    fs.mkdirSync(cacheDir);
    fs.writeFileSync(path.join(cacheDir, `${entry.fileName}.partial`), seededBytes(100_000, 99)); // the start of another file
    server.handler = serveBytes(PAYLOAD);
    const file = await downloadWeights(entry, { cacheDir });
    expect(server.requests.map((r) => r.range)).toEqual(['bytes=100000-', undefined]);
    expect(sha256Hex(fs.readFileSync(file))).toBe(sha256Hex(PAYLOAD));
    expect(files()).toEqual([entry.fileName]);
  });

  it('deletes a file with the wrong hash and names both hashes', async () => {
    const entry = { ...entryFor(PAYLOAD, server.base), sha256Prefix: '00000000' };
    server.handler = serveBytes(PAYLOAD);
    await expect(downloadWeights(entry, { cacheDir })).rejects.toThrow(
      `Error in downloadWeights: ${entry.url} gave a file whose sha256 is ${sha256Hex(PAYLOAD)}, expected one starting with 00000000; the file was deleted`,
    );
    expect(files()).toEqual([]);
    expect(cachedWeightsPath(entry, { cacheDir })).toBeUndefined();
  });

  it('checks registered names against their hash, from baseUrl or MASKRCNN_WEIGHTS_URL', async () => {
    const name = 'maskrcnn_resnet50_fpn_coco';
    const fileName = WEIGHTS_REGISTRY[name].fileName;
    server.handler = serveBytes(PAYLOAD);
    await expect(downloadWeights(name, { cacheDir, baseUrl: `${server.base}/mirror/` })).rejects.toThrow(
      `${server.base}/mirror/${fileName} gave a file whose sha256 is ${sha256Hex(PAYLOAD)}, expected one starting with bf2d0c1e`,
    );
    const saved = process.env.MASKRCNN_WEIGHTS_URL;
    process.env.MASKRCNN_WEIGHTS_URL = `${server.base}/env`;
    try {
      expect(weightsUrl(name)).toBe(`${server.base}/env/${fileName}`);
      await expect(downloadWeights(name, { cacheDir })).rejects.toThrow(/expected one starting with bf2d0c1e/);
    } finally {
      if (saved === undefined) delete process.env.MASKRCNN_WEIGHTS_URL;
      else process.env.MASKRCNN_WEIGHTS_URL = saved;
    }
    expect(server.requests.map((r) => r.url)).toEqual([`/mirror/${fileName}`, `/env/${fileName}`]);
    expect(files()).toEqual([]);
    expect(weightsUrl(name)).toBe('https://download.pytorch.org/models/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth');
  });

  it('reports an HTTP error with the URL, and leaves nothing', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    server.handler = (_req, res) => {
      res.statusCode = 404;
      res.end('not here');
    };
    await expect(downloadWeights(entry, { cacheDir })).rejects.toThrow(`Error in downloadWeights: GET ${entry.url} answered 404 Not Found`);
    expect(files()).toEqual([]);
  });

  it('follows redirects, relative ones included, up to maxRedirects', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    const serve = serveBytes(PAYLOAD);
    server.handler = (req, res) => {
      if (req.url!.startsWith('/models/')) res.writeHead(302, { Location: `${server.base}/hop/1` }).end();
      else if (req.url === '/hop/1') res.writeHead(301, { Location: '../files/weights.pth' }).end();
      else if (req.url === '/files/weights.pth') serve(req, res);
      else res.writeHead(404).end();
    };
    const file = await downloadWeights(entry, { cacheDir });
    expect(server.requests.map((r) => r.url)).toEqual([`/models/${entry.fileName}`, '/hop/1', '/files/weights.pth']);
    expect(sha256Hex(fs.readFileSync(file))).toBe(sha256Hex(PAYLOAD));

    server.handler = (req, res) => res.writeHead(307, { Location: req.url!.startsWith('/a') ? '/b' : '/a' }).end();
    await expect(downloadWeights(entryFor(PAYLOAD, server.base, 'loop'), { cacheDir, maxRedirects: 3 })).rejects.toThrow(
      /Error in downloadWeights: GET http:\/\/127\.0\.0\.1:\d+\/models\/loop-[0-9a-f]{8}\.pth: more than 3 redirects/,
    );
  });

  it('gives up on a server that does not answer within timeoutMs', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    server.handler = () => undefined; // never answers
    await expect(downloadWeights(entry, { cacheDir, timeoutMs: 300 })).rejects.toThrow(
      `Error in downloadWeights: GET ${entry.url} failed: no answer for 0.3 s (timeoutMs); to work offline, copy ${entry.fileName}`,
    );
    expect(files()).toEqual([]);
  });

  it('gives up on a download that stalls, keeping the .partial for the next call', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    server.handler = serveBytes(PAYLOAD, { stallAfter: 50_000 });
    await expect(downloadWeights(entry, { cacheDir, timeoutMs: 300 })).rejects.toThrow(
      new RegExp(`GET ${entry.url} stopped after \\d+ of 300000 bytes: no data for 0.3 s \\(timeoutMs\\); .*\\.partial is kept`),
    );
    expect(files()).toEqual([`${entry.fileName}.partial`]);
    server.handler = serveBytes(PAYLOAD);
    await downloadWeights(entry, { cacheDir });
    expect(server.requests[1].range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(files()).toEqual([entry.fileName]);
  });

  it('names the path on disk errors: a folder below a file, ENOSPC, not enough free space', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    server.handler = serveBytes(PAYLOAD);
    const blocker = path.join(root, `blocker-${n}`);
    fs.writeFileSync(blocker, 'a file, not a folder');
    await expect(downloadWeights(entry, { cacheDir: path.join(blocker, 'checkpoints') })).rejects.toThrow(
      `Error in downloadWeights: cannot create the folder ${path.join(blocker, 'checkpoints')}: ENOTDIR`,
    );

    // A full disk, from the kernel: the .partial is opened on /dev/full, every write fails ENOSPC.
    // (Permissions cannot stand in: these tests may run as root, which writes anywhere.)
    const realOpen = fs.promises.open;
    const spy = jest.spyOn(fs.promises, 'open').mockImplementation(((p: fs.PathLike, flags?: string | number) =>
      String(p).endsWith('.partial') ? realOpen('/dev/full', 'w') : realOpen(p, flags)) as typeof fs.promises.open);
    try {
      await expect(downloadWeights(entry, { cacheDir })).rejects.toThrow(
        `Error in downloadWeights: cannot write ${path.join(cacheDir, `${entry.fileName}.partial`)}: ENOSPC: no space left on device`,
      );
      await expect(downloadWeights(entry, { cacheDir })).rejects.toMatchObject({ code: 'ENOSPC' });
    } finally {
      spy.mockRestore();
    }
    expect(files()).not.toContain(entry.fileName);
    expect(files()).not.toContain(`${entry.fileName}.lock`);

    // A size no disk has: refused before writing.
    server.handler = (_req, res) => {
      res.writeHead(200, { 'Content-Length': String(2 ** 52) });
      res.write('x');
    };
    await expect(downloadWeights(entryFor(PAYLOAD, server.base, 'huge'), { cacheDir })).rejects.toThrow(
      new RegExp(`Error in downloadWeights: not enough space in ${cacheDir}: the download needs 4503599627\\.4 MB more, .* are free \\(ENOSPC\\)`),
    );
  });

  it('downloads once when three calls in one process ask at the same time', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    server.handler = serveBytes(PAYLOAD, { piece: 30_000, delayMs: 20 });
    const got = await Promise.all([0, 1, 2].map(() => downloadWeights(entry, { cacheDir })));
    expect(new Set(got).size).toBe(1);
    expect(server.requests).toHaveLength(1);
    expect(sha256Hex(fs.readFileSync(got[0]))).toBe(sha256Hex(PAYLOAD));
    expect(files()).toEqual([entry.fileName]);
  });

  it('downloads once when two processes ask at the same time', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    // Each child leaves a mark when it is about to ask; the server holds the one download open
    // until both marks exist, so both processes ask while it runs, however slowly they start.
    const marks = fs.mkdtempSync(path.join(os.tmpdir(), 'download-marks-'));
    server.handler = serveBytes(PAYLOAD, { piece: 20_000, delayMs: 10, holdEnd: () => fs.readdirSync(marks).length < 2 });
    const snippet = `
      const { downloadWeights } = require(root + '/src/io/download.ts');
      require('fs').writeFileSync(require('path').join(process.env.MARKS, String(process.pid)), '');
      const file = await downloadWeights(JSON.parse(process.env.ENTRY), { cacheDir: process.env.CACHE });
      console.log(JSON.stringify({ file }));`;
    const env = { ENTRY: JSON.stringify(entry), CACHE: cacheDir, MARKS: marks };
    const children = await Promise.all([runInChild(snippet, { env }), runInChild(snippet, { env })]).finally(() =>
      fs.rmSync(marks, { recursive: true, force: true }),
    );
    for (const c of children) expect({ code: c.code, stderr: c.stderr }).toEqual({ code: 0, stderr: '' });
    const outs = children.map((c) => JSON.parse(c.stdout.trim()) as { file: string });
    expect(outs.map((o) => o.file)).toEqual([path.join(cacheDir, entry.fileName), path.join(cacheDir, entry.fileName)]);
    expect(server.requests).toHaveLength(1);
    expect(sha256Hex(fs.readFileSync(outs[0].file))).toBe(sha256Hex(PAYLOAD));
    expect(files()).toEqual([entry.fileName]);
  });

  it('breaks the lock of a dead process and an old lock from another host', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    server.handler = serveBytes(PAYLOAD);
    fs.mkdirSync(cacheDir);
    const lock = path.join(cacheDir, `${entry.fileName}.lock`);
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    fs.writeFileSync(lock, JSON.stringify({ pid: dead, host: os.hostname(), token: 'x' }));
    await downloadWeights(entry, { cacheDir });
    expect(files()).toEqual([entry.fileName]);

    const other = entryFor(PAYLOAD, server.base, 'other');
    const otherLock = path.join(cacheDir, `${other.fileName}.lock`);
    fs.writeFileSync(otherLock, JSON.stringify({ pid: 1, host: 'another-host', token: 'y' }));
    const old = new Date(Date.now() - 5 * 60_000);
    fs.utimesSync(otherLock, old, old);
    await downloadWeights(other, { cacheDir });
    expect(files()).toEqual([entry.fileName, other.fileName].sort());
    expect(server.requests).toHaveLength(2);
  });

  it('waits on a live lock and takes the file its holder finished, without a request', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    server.handler = serveBytes(PAYLOAD);
    fs.mkdirSync(cacheDir);
    const lock = path.join(cacheDir, `${entry.fileName}.lock`);
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), token: 'held' }));
    let settled = false;
    const pending = downloadWeights(entry, { cacheDir }).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 400));
    expect(settled).toBe(false);
    fs.writeFileSync(path.join(cacheDir, entry.fileName), PAYLOAD); // the holder's rename
    fs.rmSync(lock);
    expect(await pending).toBe(path.join(cacheDir, entry.fileName));
    expect(server.requests).toHaveLength(0);
  });

  it('checks options and names, listing the valid ones', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    await expect(downloadWeights(entry, { cacheDir, timeoutMs: -1, maxRedirects: 1.5, retries: 3 } as object)).rejects.toThrow(
      "Error in downloadWeights: unknown option 'retries' (valid options are cacheDir, baseUrl, timeoutMs, maxRedirects, onProgress); " +
        'timeoutMs must be a positive number of milliseconds, got -1; maxRedirects must be an integer in [0, 20], got 1.5',
    );
    await expect(downloadWeights('maskrcnn_r50')).rejects.toThrow(
      "Error in downloadWeights: unknown weights 'maskrcnn_r50'; known names: maskrcnn_resnet50_fpn_coco, maskrcnn_resnet50_fpn_v2_coco",
    );
    await expect(downloadWeights({ ...entry, fileName: '../escape.pth', sha256Prefix: 'XYZ' })).rejects.toThrow(
      /weights entry "tiny": fileName must be a plain file name .*; sha256Prefix must be 8 to 64 lowercase hex digits, got "XYZ"/,
    );
    await expect(downloadWeights(entry, { cacheDir, baseUrl: 'ftp://x' })).rejects.toThrow('baseUrl must be an http:// or https:// URL, got "ftp://x"');
    expect(server.requests).toHaveLength(0);
  });

  it('keeps its cache in options.cacheDir, MASKRCNN_HOME or ~/.cache/maskrcnn-tfjs', () => {
    const saved = { home: process.env.MASKRCNN_HOME, xdg: process.env.XDG_CACHE_HOME };
    try {
      delete process.env.MASKRCNN_HOME;
      delete process.env.XDG_CACHE_HOME;
      expect(weightsCacheDir()).toBe(path.join(os.homedir(), '.cache', 'maskrcnn-tfjs', 'checkpoints'));
      process.env.XDG_CACHE_HOME = '/xdg';
      expect(weightsCacheDir()).toBe('/xdg/maskrcnn-tfjs/checkpoints');
      process.env.MASKRCNN_HOME = '/data/mrcnn';
      expect(weightsCacheDir()).toBe('/data/mrcnn/checkpoints');
      expect(weightsCacheDir({ cacheDir: '/w' })).toBe('/w');
    } finally {
      for (const [k, v] of [['MASKRCNN_HOME', saved.home], ['XDG_CACHE_HOME', saved.xdg]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('WEIGHTS_REGISTRY', () => {
  it("holds torchvision's published Mask R-CNN checkpoints, named as torchvision names them", () => {
    expect(WEIGHTS_NAMES).toEqual(['maskrcnn_resnet50_fpn_coco', 'maskrcnn_resnet50_fpn_v2_coco']);
    for (const e of Object.values(WEIGHTS_REGISTRY)) {
      // torchvision's convention: the hex after the last '-' of the file name starts the sha256.
      expect(e.url).toBe(`https://download.pytorch.org/models/${e.fileName}`);
      expect(e.fileName).toBe(`${e.name}-${e.sha256Prefix}.pth`);
      expect(e.classNames).toHaveLength(91);
      expect(e.config.numClasses).toBe(91);
      expect(weightsEntry(e.name)).toBe(e);
    }
    expect(WEIGHTS_REGISTRY.maskrcnn_resnet50_fpn_coco.unsupported).toBeUndefined();
    expect(WEIGHTS_REGISTRY.maskrcnn_resnet50_fpn_v2_coco.unsupported).toMatch(/v2.*issue 17/);
    expect(WEIGHTS_REGISTRY.maskrcnn_resnet50_fpn_coco.metrics).toEqual({ dataset: 'COCO-val2017', boxAp: 37.9, maskAp: 34.6 });
  });
});
