/**
 * Reading a JSON file with errors that name the caller, what the file should be and its path.
 * Synchronous: a COCO file is read once, before any work, and JSON.parse blocks anyway.
 */
import * as fs from 'fs';

/**
 * The parsed content of `file`, or an Error: `Error in <caller>: <what> not found: <file>`,
 * `... cannot read <what> <file>: <reason>`, or `... <file> is not valid JSON: <reason>`.
 *
 * @example
 * ```ts
 * const json = readJsonFile('instances_val2017.json', 'annotation file', 'loadCocoDataset');
 * ```
 */
export function readJsonFile(file: string, what: string, caller: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`Error in ${caller}: ${what} not found: ${file}`);
    throw new Error(`Error in ${caller}: cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`Error in ${caller}: ${file} is not valid JSON: ${(e as Error).message}`);
  }
}
