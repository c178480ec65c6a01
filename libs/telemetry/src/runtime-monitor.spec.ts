import { RuntimeMonitor } from './runtime-monitor';

describe('RuntimeMonitor', () => {
  let monitor: RuntimeMonitor;
  afterEach(() => monitor.stop());

  it('closes a second with the GC pauses recorded in it and starts the next one empty', () => {
    monitor = new RuntimeMonitor();
    monitor.addGcPause(3.5, false);
    monitor.addGcPause(12.25, true);
    monitor.closeSecond(5000);
    monitor.closeSecond(6000);
    const [first, second] = monitor.recent().slice(-2);
    expect(first).toMatchObject({ gcPauseMs: 15.75, gcPauseMaxMs: 12.25, gcMajor: 1 });
    expect(second).toMatchObject({ startMs: 5000, gcPauseMs: 0, gcPauseMaxMs: 0, gcMajor: 0 });
  });

  it('sees a blocked event loop as a delay of about the time it was blocked', async () => {
    monitor = new RuntimeMonitor();
    // Let the histogram take a first sample, then hold the loop for 120 ms.
    await new Promise((r) => setTimeout(r, 30));
    const until = Date.now() + 120;
    while (Date.now() < until) {
      /* busy: no timer can run */
    }
    await new Promise((r) => setTimeout(r, 30));
    monitor.closeSecond(Date.now());
    const [closed] = monitor.recent().slice(-1);
    expect(closed.loopDelayMaxMs).toBeGreaterThanOrEqual(100);
    expect(closed.loopDelayMaxMs).toBeLessThan(1000);
  });

  it('keeps only the most recent seconds', () => {
    monitor = new RuntimeMonitor(3);
    for (let s = 1; s <= 5; s++) monitor.closeSecond(s * 1000);
    expect(monitor.recent().map((r) => r.startMs)).toEqual([2000, 3000, 4000]);
  });

  it('does not keep the process alive', () => {
    monitor = new RuntimeMonitor();
    // The once-a-second timer is unref'd.
    expect((monitor as unknown as { timer: NodeJS.Timeout }).timer.hasRef()).toBe(false);
  });
});
