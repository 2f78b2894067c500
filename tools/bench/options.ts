/**
 * The options of `npm run bench`, parsed and checked in one place: every problem at once, with
 * the valid flags listed.
 */

/** The parts of the bench that can be run alone. */
export const BENCH_PARTS = ['inference', 'throughput', 'training'] as const;
/** One of {@link BENCH_PARTS}. */
export type BenchPart = (typeof BENCH_PARTS)[number];

/** What `npm run bench` runs. */
export interface BenchOptions {
  /** Short side the model resizes the inference image to (torchvision's min_size); default 800. */
  readonly minSize: number;
  /** Short side of the two training images (batch 2); default 256 (issue 15 found batch 2 outgrowing the 4 GiB wasm heap at about 288 px). */
  readonly trainSize: number;
  /** Untimed runs before the timed ones, per measure and per side; default 1. */
  readonly warmup: number;
  /** Timed runs per measure and per side; default 5. */
  readonly runs: number;
  /** Images per throughput round, split between our two workers; default 4. */
  readonly throughputImages: number;
  readonly parts: readonly BenchPart[];
  /** torchvision state dict both sides load; default the parity fixtures' seeded one. */
  readonly weights?: string;
  /** The photo the inference image is cut from (resized to 480x640); default the parity fixtures' coffee.png. */
  readonly image?: string;
  /** Folder of latest.json and latest.md; default bench/results. */
  readonly outDir?: string;
  /** Python with torch and torchvision; default /usr/bin/python3 (Debian's python3-torchvision). */
  readonly python: string;
  /** Forward the workers' own output (tfjs and torch warnings) to stderr. */
  readonly verbose: boolean;
  readonly quick: boolean;
}

const DEFAULTS = { minSize: 800, trainSize: 256, warmup: 1, runs: 5, throughputImages: 4 };
/** `--quick`: a smoke run of a minute or two, for CI. */
const QUICK = { minSize: 320, trainSize: 128, warmup: 1, runs: 3, throughputImages: 2 };

const NUMERIC: Record<string, keyof typeof DEFAULTS> = {
  '--size': 'minSize',
  '--train-size': 'trainSize',
  '--warmup': 'warmup',
  '--runs': 'runs',
  '--throughput-images': 'throughputImages',
};
const STRINGS: Record<string, 'weights' | 'image' | 'outDir' | 'python' | 'only'> = {
  '--weights': 'weights',
  '--image': 'image',
  '--out': 'outDir',
  '--python': 'python',
  '--only': 'only',
};
const FLAGS = ['--quick', '--verbose', '--help'];

/** The usage text of `npm run bench -- --help`. */
export const BENCH_USAGE = [
  'npm run bench -- [options]: this library (wasm) and torchvision side by side, interleaved.',
  '  --quick                min size 320, training 128 px, 1 warm-up, 3 runs, 2 throughput images',
  '  --size S               inference min size (default 800)',
  '  --train-size S         short side of the training images (default 256)',
  '  --warmup N             untimed runs per measure (default 1)',
  '  --runs N               timed runs per measure (default 5)',
  '  --throughput-images N  images per throughput round (default 4; even, split over 2 workers)',
  `  --only LIST            comma-separated subset of ${BENCH_PARTS.join(', ')}`,
  '  --weights PATH         torchvision state dict (default .fixtures/parity/maskrcnn_seeded.pth)',
  '  --image PATH           photo for the inference image (default .fixtures/parity/images/coffee.png)',
  '  --out DIR              where latest.json and latest.md go (default bench/results)',
  '  --python PATH          python with torch (default /usr/bin/python3)',
  '  --verbose              show the workers\' own output',
].join('\n');

/**
 * Parses the bench's command line. `--quick` sets its defaults first; explicit flags override.
 * Returns `'help'` for `--help`.
 *
 * @example
 * ```ts
 * parseBenchArgs(['--quick', '--runs', '5']); // { minSize: 320, runs: 5, ... }
 * ```
 */
export function parseBenchArgs(argv: readonly string[]): BenchOptions | 'help' {
  if (argv.includes('--help')) return 'help';
  const quick = argv.includes('--quick');
  const numbers: Record<keyof typeof DEFAULTS, number> = { ...(quick ? QUICK : DEFAULTS) };
  const strings: Partial<Record<(typeof STRINGS)[string], string>> = {};
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (FLAGS.includes(flag)) continue;
    const key = NUMERIC[flag] ?? STRINGS[flag];
    if (key === undefined) {
      problems.push(`unknown option '${flag}'`);
      continue;
    }
    const value = argv[++i];
    if (value === undefined || value.startsWith('--')) {
      problems.push(`${flag} needs a value`);
      if (value !== undefined) i--;
      continue;
    }
    if (NUMERIC[flag] !== undefined) {
      const n = Number(value);
      const least = flag === '--warmup' ? 0 : 1;
      if (!Number.isInteger(n) || n < least) problems.push(`${flag} must be an integer >= ${least}, got '${value}'`);
      else numbers[NUMERIC[flag]] = n;
    } else strings[STRINGS[flag]] = value;
  }
  if (numbers.throughputImages % 2 !== 0) problems.push(`--throughput-images must be even (split over 2 workers), got ${numbers.throughputImages}`);
  if (numbers.minSize < 32 || numbers.trainSize < 32) problems.push('--size and --train-size must be at least 32');
  let parts: BenchPart[] = [...BENCH_PARTS];
  if (strings.only !== undefined) {
    const asked = strings.only.split(',').map((p) => p.trim());
    const bad = asked.filter((p) => !(BENCH_PARTS as readonly string[]).includes(p));
    if (bad.length > 0 || asked.length === 0) problems.push(`--only takes ${BENCH_PARTS.join(', ')}, got '${strings.only}'`);
    parts = BENCH_PARTS.filter((p) => asked.includes(p));
  }
  if (problems.length > 0) {
    const valid = [...FLAGS, ...Object.keys(NUMERIC), ...Object.keys(STRINGS)].join(', ');
    throw new Error(`Error in bench: ${problems.join('; ')} (valid options: ${valid})`);
  }
  return {
    ...numbers,
    parts,
    weights: strings.weights,
    image: strings.image,
    outDir: strings.outDir,
    python: strings.python ?? '/usr/bin/python3',
    verbose: argv.includes('--verbose'),
    quick,
  };
}
