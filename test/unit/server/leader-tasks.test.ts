import { describe, expect, it } from 'vitest';
import { runWhileLeader, type LeaderTask } from '../../../src/server/leader-tasks.ts';
import { LocalLeadership, LeadershipListeners, type Leadership } from '../../../src/store/leadership.ts';
import { silentLogger } from '../../../src/util/logger.ts';

/** A leadership a test flips by hand (as PostgresLeadership does when the lock is won or the connection lost). */
class ManualLeadership implements Leadership {
  isLeader = false;
  private readonly listeners = new LeadershipListeners(() => undefined);
  onChange(listener: (leader: boolean) => void): () => void {
    return this.listeners.add(listener);
  }
  set(leader: boolean): void {
    this.isLeader = leader;
    this.listeners.emit(leader);
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  stop(): Promise<void> {
    if (this.isLeader) this.set(false);
    return Promise.resolve();
  }
}

function recordingTask(name: string, events: string[]): LeaderTask {
  return {
    name,
    start: () => {
      events.push(`start ${name}`);
      return { stop: async () => void events.push(`stop ${name}`) };
    },
  };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('runWhileLeader', () => {
  it('runs the tasks only while this instance leads, and stops them when it stops leading', async () => {
    const leadership = new ManualLeadership();
    const events: string[] = [];
    const tasks = runWhileLeader(leadership, [recordingTask('retention', events), recordingTask('alerts', events)], silentLogger());
    await settled();
    expect(events).toEqual([]);
    leadership.set(true);
    await settled();
    expect(tasks.running()).toEqual(['retention', 'alerts']);
    leadership.set(false);
    await settled();
    expect(tasks.running()).toEqual([]);
    leadership.set(true);
    await settled();
    await tasks.stop();
    expect(events).toEqual(['start retention', 'start alerts', 'stop retention', 'stop alerts', 'start retention', 'start alerts', 'stop retention', 'stop alerts']);
    leadership.set(true);
    await settled();
    expect(tasks.running()).toEqual([]);
  });

  it('starts at once under a leadership that already leads (SQLite)', async () => {
    const leadership = new LocalLeadership();
    await leadership.start();
    const events: string[] = [];
    const tasks = runWhileLeader(leadership, [recordingTask('retention', events)], silentLogger());
    await settled();
    expect(tasks.running()).toEqual(['retention']);
    await leadership.stop();
    await settled();
    expect(events).toEqual(['start retention', 'stop retention']);
    await tasks.stop();
  });
});
