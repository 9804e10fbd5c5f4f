// Whole-file replacement that readers never see half-written: write a temp file next to the
// target, fsync it, rename it over the target. (The extension reads run.json while a job writes it.)

import { open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

const RETRYABLE = new Set(['EPERM', 'EACCES', 'EBUSY']);

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    // On Windows a reader holding the target open makes rename fail for a moment; retry briefly.
    for (let attempt = 0; ; attempt++) {
      try {
        await rename(tmp, path);
        return;
      } catch (e) {
        if (attempt >= 10 || !RETRYABLE.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
        await new Promise((r) => setTimeout(r, 20 * (attempt + 1)));
      }
    }
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
