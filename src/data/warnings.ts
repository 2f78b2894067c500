/**
 * Counted warnings for data loading: a bad entry (an annotation with a broken polygon, an image
 * file that does not decode) is skipped, and the skip is counted and reported with the entry's
 * name instead of killing the dataset or the epoch.
 */

/** What was wrong with a skipped or altered entry. */
export type DataWarningCode =
  | 'invalid-image'
  | 'duplicate-image'
  | 'invalid-category'
  | 'duplicate-category'
  | 'invalid-annotation'
  | 'duplicate-annotation'
  | 'unknown-image'
  | 'unknown-category'
  | 'invalid-bbox'
  | 'degenerate-box'
  | 'invalid-segmentation'
  | 'invalid-polygon-part'
  | 'empty-image-filtered'
  | 'bad-sample';

/** One warning: the entry it concerns (e.g. `annotation id 17 (index 3)`) and what is wrong. */
export interface DataWarning {
  readonly code: DataWarningCode;
  readonly entry: string;
  readonly message: string;
}

/** Receives warnings as they happen. */
export type WarningHandler = (warning: DataWarning) => void;

/**
 * Collects warnings: counts per code, keeps the first `keep` in full, and forwards each to an
 * optional handler. With no handler, the first `logFirst` are printed with `console.warn` and the
 * rest are only counted (a 100k-annotation file with one systematic problem should not flood).
 *
 * @example
 * ```ts
 * const log = new WarningLog();
 * log.warn('invalid-bbox', 'annotation id 3', 'bbox has NaN');
 * log.count('invalid-bbox'); // 1
 * ```
 */
export class WarningLog {
  private readonly counts = new Map<DataWarningCode, number>();
  private readonly kept: DataWarning[] = [];
  private printed = 0;

  constructor(
    private readonly handler?: WarningHandler,
    private readonly keep = 1000,
    private readonly logFirst = 20,
  ) {}

  /** Records one warning. */
  warn(code: DataWarningCode, entry: string, message: string): void {
    const w: DataWarning = { code, entry, message };
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
    if (this.kept.length < this.keep) this.kept.push(w);
    if (this.handler) {
      this.handler(w);
    } else if (this.printed < this.logFirst) {
      this.printed++;
      console.warn(`maskrcnn-tfjs data warning [${code}] ${entry}: ${message}`);
      if (this.printed === this.logFirst) {
        console.warn('maskrcnn-tfjs: further data warnings are counted, not printed (pass onWarning to see all)');
      }
    }
  }

  /** Number of warnings with this code, or of all codes. */
  count(code?: DataWarningCode): number {
    if (code !== undefined) return this.counts.get(code) ?? 0;
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** Counts per code (codes with zero warnings are absent). */
  summary(): Partial<Record<DataWarningCode, number>> {
    return Object.fromEntries(this.counts) as Partial<Record<DataWarningCode, number>>;
  }

  /** The first warnings, in order (at most `keep`). */
  list(): readonly DataWarning[] {
    return this.kept;
  }

  /** One line per code, e.g. `invalid-bbox: 3, degenerate-box: 1`; empty string when none. */
  describe(): string {
    return [...this.counts].map(([k, v]) => `${k}: ${v}`).join(', ');
  }
}
