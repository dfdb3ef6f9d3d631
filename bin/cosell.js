#!/usr/bin/env node
// Runs the compiled CLI (dist/, from `npm run build`) when it is there and up to date, else the TypeScript sources
// through tsx, so a fresh clone works after `npm install` with no build step and a production install
// (`npm ci --omit=dev`, no tsx) runs plain JavaScript. "Up to date": no file under src/ is newer than the build, so a
// checkout edited after its last build never runs stale code. COSELL_RUN=dist|src forces one.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const compiled = new URL('dist/cli/main.js', root);
const sources = new URL('src/', root);

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs);
  }
  return newest;
}

function useCompiled() {
  const forced = process.env.COSELL_RUN;
  if (forced === 'dist' || forced === 'src') return forced === 'dist';
  if (!existsSync(compiled)) return false;
  if (!existsSync(sources)) return true;
  return newestMtime(fileURLToPath(sources)) <= statSync(compiled).mtimeMs;
}

if (useCompiled()) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('src/cli/main.ts', root).href);
}
