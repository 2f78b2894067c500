/**
 * The package's version for `maskrcnn --version`, read from package.json at run time: the same
 * file whether the code runs from src/ (jest), dist/ (the published CLI) or build/ (benches).
 */
import * as fs from 'fs';
import * as path from 'path';

/** The `name` field that identifies our own package.json on the way up. */
const PACKAGE_NAME = 'maskrcnn-tfjs';

/**
 * The `version` of the maskrcnn-tfjs package.json found in `from` or the nearest folder above it.
 * Folders are walked upwards rather than a fixed `../../package.json`, because the depth differs
 * between src/cli, dist/cli and build/src/cli; a package.json of another package on the way
 * (an app that vendors us) is passed over.
 *
 * @param from folder to start in; default this file's folder.
 * @throws Error naming the folders searched when none holds our package.json.
 * @example
 * ```ts
 * packageVersion(); // '0.1.0'
 * ```
 */
export function packageVersion(from: string = __dirname): string {
  const searched: string[] = [];
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    searched.push(dir);
    const json = readJson(file);
    if (json !== undefined && json.name === PACKAGE_NAME && typeof json.version === 'string') return json.version;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`Error in packageVersion: no package.json of ${PACKAGE_NAME} in ${searched[0]} or any folder above it`);
}

function readJson(file: string): { name?: unknown; version?: unknown } | undefined {
  try {
    const json: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return json !== null && typeof json === 'object' ? (json as { name?: unknown; version?: unknown }) : undefined;
  } catch {
    return undefined; // absent, unreadable or not JSON: keep looking upwards
  }
}
