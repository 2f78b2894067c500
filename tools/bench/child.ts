/**
 * The bench's workers (our Node worker and torch_bench.py) and how the driver talks to them:
 * one JSON command a line on stdin, one reply a line on stdout marked with {@link REPLY_MARK}.
 * Everything else a worker prints (tfjs and torch warnings) is kept for error messages only, so
 * a library's chatter on stdout cannot be mistaken for a reply.
 *
 * A worker answers one command at a time and does nothing in between, so while the driver waits
 * on one side the other side is idle: the runs are interleaved, never overlapped.
 */
import { ChildProcess, spawn } from 'child_process';

/** What starts every reply line. */
export const REPLY_MARK = '@@bench ';

/** A worker's answer: `ok` with the command's results, or the error it hit. */
export type Reply = { readonly ok: true; readonly [key: string]: unknown } | { readonly ok: false; readonly error: string };

/**
 * The reply on a line of a worker's stdout, or undefined for any other line.
 *
 * @example
 * ```ts
 * parseReplyLine('@@bench {"ok":true,"ms":12.5}'); // { ok: true, ms: 12.5 }
 * parseReplyLine('Platform node has already been set.'); // undefined
 * ```
 */
export function parseReplyLine(line: string): Reply | undefined {
  if (!line.startsWith(REPLY_MARK)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line.slice(REPLY_MARK.length));
  } catch (e) {
    throw new Error(`Error in parseReplyLine: a reply that is not JSON (${(e as Error).message}): ${line.slice(0, 200)}`);
  }
  if (value === null || typeof value !== 'object' || typeof (value as { ok?: unknown }).ok !== 'boolean') {
    throw new Error(`Error in parseReplyLine: a reply needs a boolean 'ok': ${line.slice(0, 200)}`);
  }
  const r = value as { ok: boolean; error?: unknown };
  if (!r.ok && typeof r.error !== 'string') throw new Error(`Error in parseReplyLine: a failed reply needs an 'error' string: ${line.slice(0, 200)}`);
  return value as Reply;
}

/**
 * A reply line for `msg` (what a worker prints).
 *
 * @example
 * ```ts
 * process.stdout.write(replyLine({ ok: true, ms: 12.5 }));
 * ```
 */
export function replyLine(msg: Reply): string {
  return `${REPLY_MARK}${JSON.stringify(msg)}\n`;
}

const TAIL_LINES = 30;

/**
 * A running worker.
 *
 * @example
 * ```ts
 * const torch = BenchChild.start('torchvision', '/usr/bin/python3', ['tools/bench/torch_bench.py', '--threads', '1']);
 * const r = await torch.request({ cmd: 'infer', count: 1 });
 * await torch.close();
 * ```
 */
export class BenchChild {
  private readonly proc: ChildProcess;
  private buffer = '';
  private readonly tail: string[] = [];
  private waiting: { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void } | undefined;
  private exited: string | undefined;

  private constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv,
    private readonly verbose: boolean,
  ) {
    this.proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.proc.stdout?.on('data', (d: Buffer) => this.onStdout(d.toString()));
    this.proc.stderr?.on('data', (d: Buffer) => this.keep(d.toString()));
    // A worker that died mid-write makes stdin emit EPIPE; its exit reports the failure.
    this.proc.stdin?.on('error', () => undefined);
    this.proc.on('error', (e) => this.fail(`could not start: ${e.message}`));
    this.proc.on('exit', (code, signal) => this.fail(`exited (${signal ?? `code ${code}`})`));
  }

  /** Starts `command args` with `env` added to this process's environment. */
  static start(name: string, command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; verbose?: boolean } = {}): BenchChild {
    return new BenchChild(name, command, args, { ...process.env, ...options.env }, options.verbose ?? false);
  }

  /** Sends one command and resolves with the reply's fields; rejects with the worker's error or its last output. */
  request(command: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.exited !== undefined) return Promise.reject(this.error(this.exited));
    if (this.waiting !== undefined) return Promise.reject(new Error(`Error in bench: ${this.name} is still busy with a command`));
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.proc.stdin?.write(`${JSON.stringify(command)}\n`);
    });
  }

  /** Asks the worker to quit and waits for it to exit; kills it when it has not after `graceMs`. */
  async close(graceMs = 10_000): Promise<void> {
    if (this.exited !== undefined) return;
    const done = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin?.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await done;
    clearTimeout(timer);
  }

  private onStdout(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      let reply: Reply | undefined;
      try {
        reply = parseReplyLine(line);
      } catch (e) {
        this.settle((w) => w.reject(this.error((e as Error).message)));
        continue;
      }
      if (reply === undefined) this.keep(`${line}\n`);
      else if (reply.ok) this.settle((w) => w.resolve(reply as Record<string, unknown>));
      else this.settle((w) => w.reject(this.error(reply.error)));
    }
  }

  private keep(text: string): void {
    if (this.verbose) process.stderr.write(text.replace(/^(?=.)/gm, `[${this.name}] `));
    this.tail.push(...text.split('\n').filter((l) => l.trim() !== ''));
    this.tail.splice(0, Math.max(0, this.tail.length - TAIL_LINES));
  }

  private settle(f: (w: NonNullable<BenchChild['waiting']>) => void): void {
    const w = this.waiting;
    this.waiting = undefined;
    if (w !== undefined) f(w);
  }

  private fail(why: string): void {
    if (this.exited !== undefined) return;
    this.exited = why;
    this.settle((w) => w.reject(this.error(why)));
  }

  private error(why: string): Error {
    const tail = this.tail.length > 0 ? `\n  its last output:\n    ${this.tail.join('\n    ')}` : '';
    return new Error(`Error in bench: ${this.name}: ${why}${tail}`);
  }
}
