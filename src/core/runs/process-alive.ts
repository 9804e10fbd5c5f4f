// Whether a pid names a live process on this machine (signal 0 checks without signalling).
// EPERM means it exists but belongs to another user — still alive.

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
