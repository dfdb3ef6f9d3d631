import { closeSync, existsSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { openDatabase } from './driver.ts';

/** The backup was refused before anything was written (no store, or the target exists). */
export class BackupRefusedError extends Error {
  override readonly name = 'BackupRefusedError';
}

export interface BackupResult {
  /** Schema version (`PRAGMA user_version`) of the copy: the migrations a restored service will not run again. */
  schemaVersion: number;
  bytes: number;
  links: number;
}

/**
 * An online, consistent copy of the store while the service keeps writing: `VACUUM INTO` reads one snapshot inside a
 * read transaction (so WAL frames not yet checkpointed are included, which copying the .db file alone would miss) and
 * writes a compact standalone database (https://www.sqlite.org/lang_vacuum.html#vacuuminto). The copy is written
 * next to the target under a temporary name created with mode 0600 (it holds customer data) and renamed into place
 * once SQLite has checked it, so a failed backup never leaves a truncated file under the requested name.
 */
export function backupDatabase(sourcePath: string, targetPath: string, options: { overwrite?: boolean } = {}): BackupResult {
  if (!existsSync(sourcePath)) throw new BackupRefusedError(`no store at ${sourcePath}`);
  if (existsSync(targetPath) && !options.overwrite) throw new BackupRefusedError(`${targetPath} exists (--force replaces it)`);
  const partial = `${targetPath}.partial-${process.pid}`;
  // VACUUM INTO accepts an existing empty file and keeps its permissions.
  closeSync(openSync(partial, 'wx', 0o600));
  try {
    const source = openDatabase(sourcePath, { fileMustExist: true });
    try {
      // The service may hold the write lock for a moment; a snapshot read only waits for it.
      source.exec('PRAGMA busy_timeout = 10000');
      source.prepare<[string]>('VACUUM INTO ?').run(partial);
    } finally {
      source.close();
    }
    const copy = openDatabase(partial, { fileMustExist: true });
    let result: Omit<BackupResult, 'bytes'>;
    try {
      const check = copy.prepare<[], { quick_check: string }>('PRAGMA quick_check').get()?.quick_check;
      if (check !== 'ok') throw new Error(`the copy failed SQLite's integrity check: ${check ?? 'no answer'}`);
      const schemaVersion = copy.prepare<[], { user_version: number }>('PRAGMA user_version').get()?.user_version ?? 0;
      const links = schemaVersion > 0 ? (copy.prepare<[], { n: number }>('SELECT count(*) AS n FROM links').get()?.n ?? 0) : 0;
      result = { schemaVersion, links };
    } finally {
      copy.close();
    }
    renameSync(partial, targetPath);
    return { ...result, bytes: statSync(targetPath).size };
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}
