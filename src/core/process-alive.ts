/**
 * Whether a process of this pid exists on this machine (signal 0 checks without
 * sending). EPERM means it exists under another user. A pid can be reused, so callers
 * that must not trust it alone also look at how old the evidence is.
 */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
