/**
 * Whether a process of this host still runs: what decides that a lock or a temporary file left by
 * another process is stale.
 */

/**
 * True when process `pid` of this host exists. A process we may not signal (EPERM) exists too.
 *
 * @example
 * ```ts
 * isProcessAlive(process.pid); // true
 * ```
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    // Signal 0 checks existence and permission without delivering anything.
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
