/**
 * A local HTTP server on 127.0.0.1 (random port) for the download tests, with a log of the
 * requests it got and a handler each test replaces: serve bytes with or without Range support,
 * in slow pieces, cut off or stalled part way.
 */
import { createHash } from 'crypto';
import * as http from 'http';
import type { AddressInfo } from 'net';
import type { WeightsEntry } from '../../../src/io/weights_registry';

/** One request as the server saw it. */
export interface SeenRequest {
  readonly url: string;
  readonly range: string | undefined;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export class WeightsServer {
  readonly requests: SeenRequest[] = [];
  handler: Handler = (_req, res) => {
    res.statusCode = 500;
    res.end();
  };

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<WeightsServer> {
    const server = http.createServer();
    const s = new WeightsServer(server);
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      s.requests.push({ url: req.url ?? '', range: req.headers.range });
      s.handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  /** `http://127.0.0.1:<port>` */
  get base(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Closes the server and every connection (stalled ones included). */
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** How {@link serveBytes} answers. */
export interface ServeOptions {
  /** Answer `Range: bytes=N-` with 206 (default true); false answers 200 with everything. */
  ranges?: boolean;
  /** Send this many bytes of the body, then cut the connection. */
  cutAfter?: number;
  /** Send this many bytes of the body, then nothing more (the connection stays open). */
  stallAfter?: number;
  /** Send the body in pieces of this many bytes, `delayMs` apart. */
  piece?: number;
  delayMs?: number;
  /** Called when the last byte was sent. */
  onEnd?: () => void;
  /**
   * Called before the last byte is sent; while it returns true the response waits (polled every
   * 20 ms). Lets a test hold a download open until other processes are up, with no timing guess.
   */
  holdEnd?: () => boolean;
}

/** A handler serving `bytes` as a file. */
export function serveBytes(bytes: Uint8Array, o: ServeOptions = {}): Handler {
  return (req, res) => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    let start = 0;
    if (m !== null && (o.ranges ?? true)) {
      start = Number(m[1]);
      if (start >= bytes.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${bytes.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { 'Content-Length': bytes.length - start, 'Content-Range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` });
    } else {
      res.writeHead(200, { 'Content-Length': bytes.length, 'Content-Type': 'application/octet-stream' });
    }
    const body = Buffer.from(bytes.buffer, bytes.byteOffset + start, bytes.length - start);
    const limit = o.cutAfter ?? o.stallAfter;
    const sent = limit === undefined ? body : body.subarray(0, Math.max(0, limit - start));
    const finish = (): void => {
      if (o.holdEnd?.() === true && !res.destroyed) {
        setTimeout(finish, 20);
        return;
      }
      if (o.cutAfter !== undefined) res.socket?.destroy();
      else if (o.stallAfter === undefined) {
        res.end();
        o.onEnd?.();
      }
      // stalled: nothing more is sent; WeightsServer.close ends it
    };
    if (o.piece === undefined) {
      res.write(sent, () => finish());
      return;
    }
    const piece = o.piece;
    let at = 0;
    const next = () => {
      if (res.destroyed) return;
      if (at >= sent.length) return finish();
      res.write(sent.subarray(at, at + piece));
      at += piece;
      setTimeout(next, o.delayMs ?? 0);
    };
    next();
  };
}

/** `n` pseudo-random bytes, the same for the same seed (sha256 in counter mode). */
export function seededBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, block = 0; i < n; block++) {
    const d = createHash('sha256').update(`${seed}:${block}`).digest();
    out.set(d.subarray(0, Math.min(d.length, n - i)), i);
    i += d.length;
  }
  return out;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A weights entry for `bytes` served at `<base>/models/<name>-<hash>.pth`, torchvision's naming. */
export function entryFor(bytes: Uint8Array, base: string, name = 'tiny', extra: Partial<WeightsEntry> = {}): WeightsEntry {
  const prefix = sha256Hex(bytes).slice(0, 8);
  const fileName = `${name}-${prefix}.pth`;
  return { name, url: `${base}/models/${fileName}`, fileName, sha256Prefix: prefix, config: {}, classNames: [], ...extra };
}
