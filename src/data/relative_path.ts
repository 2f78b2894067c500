/**
 * Whether a file name taken from a data file stays inside the folder it is relative to.
 */
import * as path from 'path';

/**
 * True when `fileName` names a file inside its folder: relative (POSIX and Windows), no NUL byte,
 * and no `..` that climbs out. COCO's `file_name` comes from a file we did not write, so a
 * hostile `../../etc/passwd` must never be read.
 *
 * @example
 * ```ts
 * isInsideFolder('val2017/000001.jpg'); // true
 * isInsideFolder('sub/../../secret.png'); // false
 * ```
 */
export function isInsideFolder(fileName: string): boolean {
  if (fileName.includes('\0') || path.isAbsolute(fileName) || path.win32.isAbsolute(fileName) || /^[a-zA-Z]:/.test(fileName)) return false;
  const normal = path.posix.normalize(fileName.replace(/\\/g, '/'));
  return normal !== '.' && normal !== '..' && !normal.startsWith('../');
}
