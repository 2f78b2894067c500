/**
 * `maskrcnn download` and the progress the commands show: a few plain lines when stderr is not a
 * terminal, a bar when it is; the list of checkpoints with what is cached (a file copied into the
 * cache by hand counts, which is how offline machines get one).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runDownload } from '../../src/cli/download_command';
import { createProgram } from '../../src/cli/main';
import { withDownloadProgress } from '../../src/cli/download_progress';
import { downloadWeights } from '../../src/io/download';
import { entryFor, seededBytes, serveBytes, WeightsServer } from '../io/support/weights_server';

const PAYLOAD = seededBytes(400_000, 3);

describe('maskrcnn download', () => {
  let server: WeightsServer;
  let dir: string;

  beforeAll(async () => {
    server = await WeightsServer.start();
    server.handler = serveBytes(PAYLOAD, { piece: 50_000 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'download-cli-'));
  });
  afterAll(async () => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('prints a line at the start and one per quarter when stderr is not a terminal', async () => {
    const entry = entryFor(PAYLOAD, server.base);
    const cacheDir = path.join(dir, 'plain');
    let err = '';
    const lines: string[] = [];
    const files = await runDownload({ names: [entry], cacheDir }, (l) => lines.push(l), { write: (t: string) => ((err += t), true) });
    const file = path.join(cacheDir, entry.fileName);
    expect(files).toEqual([file]);
    expect(lines).toEqual([file]);
    expect(err).toBe(`downloading ${entry.url} (0.4 MB)\n  into ${file}\n  25% of 0.4 MB\n  50% of 0.4 MB\n  75% of 0.4 MB\n  100% of 0.4 MB\n`);
  });

  it('draws a bar on a terminal and stops it however the download ends', async () => {
    const entry = entryFor(PAYLOAD, server.base, 'bar');
    let out = '';
    const tty = { isTTY: true, write: (t: string) => ((out += t), true), columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true };
    await withDownloadProgress((d) => downloadWeights(entry, d), tty, { cacheDir: path.join(dir, 'tty') });
    expect(out).toMatch(/download bar \[.*\] 100% \| 0\.4\/0\.4 MB/);

    // Cut part way: the bar was drawn, and is stopped (the cursor shown again) before the error.
    const cut = entryFor(PAYLOAD, server.base, 'cut');
    const saved = server.handler;
    server.handler = serveBytes(PAYLOAD, { cutAfter: 100_000 });
    out = '';
    try {
      await expect(withDownloadProgress((d) => downloadWeights(cut, d), tty, { cacheDir: path.join(dir, 'tty') })).rejects.toThrow(/stopped after/);
    } finally {
      server.handler = saved;
    }
    expect(out).toContain('download cut [');
    expect(out.split('\x1B[?25l')).toHaveLength(2); // hidden once
    expect(out.lastIndexOf('\x1B[?25h')).toBeGreaterThan(out.lastIndexOf('download cut [')); // shown again after the last frame
  });

  it('lists the checkpoints, their AP and which are cached, a hand-copied file included', async () => {
    const cacheDir = path.join(dir, 'list');
    fs.mkdirSync(cacheDir);
    fs.writeFileSync(path.join(cacheDir, 'maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth'), 'copied here by hand');
    const lines: string[] = [];
    const found = await runDownload({ names: [], cacheDir }, (l) => lines.push(l));
    expect(found).toEqual([path.join(cacheDir, 'maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth')]);
    expect(lines).toEqual([
      `cache: ${cacheDir}`,
      'maskrcnn_resnet50_fpn_coco  box AP 37.9, mask AP 34.6 (COCO-val2017)',
      `  cached: ${path.join(cacheDir, 'maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth')}`,
      'maskrcnn_resnet50_fpn_v2_coco  box AP 47.4, mask AP 41.8 (COCO-val2017)',
      '  not downloaded: https://download.pytorch.org/models/maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth',
      expect.stringMatching(/^ {2}downloads, but does not load: it is Mask R-CNN v2 .*\(issue 17\)$/),
    ]);
  });

  it('is a subcommand of maskrcnn, taking a mirror and a timeout', async () => {
    const cacheDir = path.join(dir, 'program');
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const errors: string[] = [];
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((t) => (errors.push(String(t)), true));
    try {
      const run = createProgram().parseAsync(['node', 'maskrcnn', 'download', 'maskrcnn_resnet50_fpn_coco', '--cache-dir', cacheDir, '--base-url', `${server.base}/m`, '--timeout', '5']);
      // The mirror serves other bytes, so the registered hash refuses them.
      await expect(run).rejects.toThrow(`${server.base}/m/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth gave a file whose sha256 is`);
      await createProgram().parseAsync(['node', 'maskrcnn', 'download', '--list', '--cache-dir', cacheDir]);
    } finally {
      log.mockRestore();
      stderr.mockRestore();
    }
    expect(fs.readdirSync(cacheDir)).toEqual([]);
    expect(server.requests.at(-1)?.url).toBe('/m/maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth');
  });
});
