import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join, relative, resolve } from 'node:path';

/*
 * CPU profiles for a bench run (`--profile <dir>`): the bench process itself (where the sandboxes run) through the
 * inspector, the service child through cpu-profile-hook.mjs (written on SIGTERM, so the bench stops it gracefully).
 * Each .cpuprofile opens in Chrome DevTools; `summarizeProfiles` prints the functions with the most self time.
 */

const REPO = resolve(import.meta.dirname, '../..');

export class InProcessProfile {
  private readonly session = new Session();

  private constructor(private readonly file: string) {}

  static async start(dir: string, name: string): Promise<InProcessProfile> {
    mkdirSync(dir, { recursive: true });
    const profile = new InProcessProfile(join(dir, `${name}.cpuprofile`));
    profile.session.connect();
    await profile.session.post('Profiler.enable');
    await profile.session.post('Profiler.start');
    return profile;
  }

  async stop(): Promise<string> {
    const { profile } = await this.session.post('Profiler.stop');
    writeFileSync(this.file, JSON.stringify(profile));
    this.session.disconnect();
    return this.file;
  }
}

/** Environment for a child process that writes its CPU profile into `dir` when it gets SIGTERM (cpu-profile-hook.mjs). */
export function childProfileEnv(dir: string): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const hook = join(import.meta.dirname, 'cpu-profile-hook.mjs');
  return { NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', `--import=${hook}`].join(' ').trim(), COSELL_BENCH_PROFILE_DIR: dir };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time per function (top `limit`) and per source area, of every .cpuprofile in `dir`. */
export function summarizeProfiles(dir: string, limit = 25): string {
  const lines: string[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const selfUs = new Map<number, number>();
    profile.samples.forEach((id, index) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
    const total = [...selfUs.values()].reduce((sum, us) => sum + us, 0);
    const byFunction = new Map<string, number>();
    const byArea = new Map<string, number>();
    for (const [id, us] of selfUs) {
      const frame = byId.get(id)?.callFrame;
      if (!frame) continue;
      const where = frame.url === '' ? '' : relative(REPO, frame.url.replace(/^file:\/\//, ''));
      const key = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
      byFunction.set(key, (byFunction.get(key) ?? 0) + us);
      const area = where === '' ? frame.functionName : where.split('/').slice(0, where.startsWith('node_modules') ? 2 : 3).join('/');
      byArea.set(area, (byArea.get(area) ?? 0) + us);
    }
    const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
    lines.push(`${file}: ${(total / 1e6).toFixed(1)} s sampled`);
    lines.push('  by area:');
    for (const [area, us] of [...byArea].sort(([, a], [, b]) => b - a).slice(0, 15)) lines.push(`    ${pct(us)}  ${area}`);
    lines.push('  by function (self):');
    for (const [key, us] of [...byFunction].sort(([, a], [, b]) => b - a).slice(0, limit)) lines.push(`    ${pct(us)}  ${key}`);
  }
  return lines.join('\n');
}
