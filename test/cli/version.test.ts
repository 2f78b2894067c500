/**
 * `maskrcnn --version`: the version comes from package.json, found upwards from the code's folder
 * whether that is src/cli (here, under jest), dist/cli or build/src/cli.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CommanderError } from 'commander';
import { createProgram } from '../../src/cli/main';
import { packageVersion } from '../../src/cli/version';

const ours = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };

describe('maskrcnn --version', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'maskrcnn-version-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints package.json\'s version and exits', async () => {
    let printed = '';
    const program = createProgram()
      .exitOverride()
      .configureOutput({ writeOut: (s) => (printed += s) });
    const run = program.parseAsync(['node', 'maskrcnn', '--version']);
    await expect(run).rejects.toBeInstanceOf(CommanderError);
    await expect(run).rejects.toMatchObject({ code: 'commander.version', exitCode: 0 });
    expect(printed).toBe(`${ours.version}\n`);
    expect(packageVersion()).toBe(ours.version);
  });

  it('finds our package.json from a dist/cli or build/src/cli folder, passing over another package\'s', () => {
    const pkg = path.join(dir, 'pkg');
    for (const sub of ['dist/cli', 'build/src/cli', 'node_modules/other/lib']) fs.mkdirSync(path.join(pkg, sub), { recursive: true });
    fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'maskrcnn-tfjs', version: '9.8.7' }));
    fs.writeFileSync(path.join(pkg, 'node_modules', 'other', 'package.json'), JSON.stringify({ name: 'other', version: '1.0.0' }));
    fs.writeFileSync(path.join(pkg, 'build', 'package.json'), '{ not json');
    expect(packageVersion(path.join(pkg, 'dist', 'cli'))).toBe('9.8.7');
    expect(packageVersion(path.join(pkg, 'build', 'src', 'cli'))).toBe('9.8.7');
    expect(packageVersion(path.join(pkg, 'node_modules', 'other', 'lib'))).toBe('9.8.7');
  });

  it('says where it looked when no package.json of ours is found', () => {
    const lost = path.join(dir, 'lost');
    fs.mkdirSync(lost);
    // Above os.tmpdir() there is no maskrcnn-tfjs package.json (the repository is elsewhere).
    expect(() => packageVersion(lost)).toThrow(`Error in packageVersion: no package.json of maskrcnn-tfjs in ${lost} or any folder above it`);
  });
});
