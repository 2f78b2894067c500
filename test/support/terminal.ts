/**
 * A one-line terminal emulator for checking what a progress bar and printed lines leave on the
 * screen, and a stand-in for process.stderr that writes into it.
 */
import { Writable } from 'stream';
import type { ProgressStream } from '../../src/cli/train_progress';

/** One terminal line as cursor moves, clears and text leave it; finished lines in `history`. */
export class Terminal {
  line = '';
  private col = 0;
  readonly history: string[] = [];

  write(s: string): void {
    for (const tok of s.match(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]|\r|\n|[^\x1b\r\n]+/g) ?? []) {
      const csi = /^\x1b\[([0-9;?]*)([A-Za-z])$/.exec(tok);
      if (csi && csi[2] === 'G') this.col = Number(csi[1] || 1) - 1;
      else if (csi && csi[2] === 'K' && csi[1] === '2') this.line = '';
      else if (csi && csi[2] === 'K') this.line = this.line.slice(0, this.col);
      else if (csi || tok.startsWith('\x1b')) continue; // cursor visibility, save / restore
      else if (tok === '\r') this.col = 0;
      else if (tok === '\n') this.newline();
      else {
        this.line = this.line.slice(0, this.col).padEnd(this.col) + tok + this.line.slice(this.col + tok.length);
        this.col += tok.length;
      }
    }
  }

  newline(): void {
    this.history.push(this.line);
    this.line = '';
    this.col = 0;
  }
}

export function fakeStderr(terminal: Terminal | undefined, isTTY: boolean): ProgressStream & { writes: number } {
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      stream.writes++;
      terminal?.write(chunk.toString());
      done();
    },
  }) as Writable & { isTTY: boolean; columns: number; writes: number };
  stream.isTTY = isTTY;
  stream.columns = 200;
  stream.writes = 0;
  return stream;
}

