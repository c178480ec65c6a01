import { constants, monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';

/**
 * One second of a process's runtime: how late its event loop ran timers
 * (every answer the process sends waits behind such a delay) and how long
 * garbage collection paused it. A latency spike with a long delay here was
 * this process; one without was elsewhere (another process, the host).
 */
export interface RuntimeSecond {
  /** Start of the second, epoch milliseconds. */
  readonly startMs: number;
  /** Longest event-loop delay seen in the second, ms (0 when no sample completed in it). */
  readonly loopDelayMaxMs: number;
  /** 99th percentile of the event-loop delay samples of the second, ms. */
  readonly loopDelayP99Ms: number;
  /** Garbage collection pauses that ended in the second: their sum, the longest, and how many were full (mark-compact). */
  readonly gcPauseMs: number;
  readonly gcPauseMaxMs: number;
  readonly gcMajor: number;
}

/** Seconds kept: enough for a benchmark's warm-up, measured window and saturation, read once at the end. */
export const RUNTIME_SECONDS_KEPT = 600;

/** Period of the timer whose lateness is the event-loop delay, ms: a sample is the time between two of its runs minus this. */
const loopDelayResolutionMs = 10;

/**
 * Records the event-loop delay and GC pauses of this process second by
 * second, in a ring of the last RUNTIME_SECONDS_KEPT seconds. One per
 * process (runtimeMonitor()); its timers are unref'd, so it never keeps a
 * process alive.
 */
export class RuntimeMonitor {
  private readonly seconds: RuntimeSecond[] = [];
  private readonly histogram: IntervalHistogram;
  private readonly gcObserver: PerformanceObserver;
  private readonly timer: NodeJS.Timeout;
  private currentStartMs: number;
  private gc = { pauseMs: 0, pauseMaxMs: 0, major: 0 };

  constructor(private readonly keep: number = RUNTIME_SECONDS_KEPT) {
    this.histogram = monitorEventLoopDelay({ resolution: loopDelayResolutionMs });
    this.histogram.enable();
    this.gcObserver = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) this.addGcPause(entry.duration, isMajorGc((entry as { detail?: unknown }).detail));
    });
    this.gcObserver.observe({ entryTypes: ['gc'] });
    this.currentStartMs = Date.now();
    this.timer = setInterval(() => this.closeSecond(Date.now()), 1000);
    this.timer.unref();
  }

  /** A GC pause (from the observer; public for tests). */
  addGcPause(ms: number, major: boolean): void {
    this.gc.pauseMs += ms;
    this.gc.pauseMaxMs = Math.max(this.gc.pauseMaxMs, ms);
    if (major) this.gc.major += 1;
  }

  /** Ends the current second at `nowMs` and starts the next one (the timer's tick; public for tests). */
  closeSecond(nowMs: number): void {
    // The histogram holds nanoseconds between the sampling timer's runs: the period itself plus the delay.
    const hasSamples = this.histogram.count > 0;
    const delayMs = (intervalNs: number) => (hasSamples ? round(Math.max(0, intervalNs / 1e6 - loopDelayResolutionMs)) : 0);
    this.seconds.push({
      startMs: this.currentStartMs,
      loopDelayMaxMs: delayMs(this.histogram.max),
      loopDelayP99Ms: delayMs(this.histogram.percentile(99)),
      gcPauseMs: round(this.gc.pauseMs),
      gcPauseMaxMs: round(this.gc.pauseMaxMs),
      gcMajor: this.gc.major,
    });
    if (this.seconds.length > this.keep) this.seconds.splice(0, this.seconds.length - this.keep);
    this.histogram.reset();
    this.gc = { pauseMs: 0, pauseMaxMs: 0, major: 0 };
    this.currentStartMs = nowMs;
  }

  /** The closed seconds, oldest first. */
  recent(): readonly RuntimeSecond[] {
    return [...this.seconds];
  }

  stop(): void {
    clearInterval(this.timer);
    this.histogram.disable();
    this.gcObserver.disconnect();
  }
}

/** A GC entry's detail: `kind` is one of perf_hooks' NODE_PERFORMANCE_GC_* constants. */
function isMajorGc(detail: unknown): boolean {
  return (detail as { kind?: number } | null)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

let monitor: RuntimeMonitor | undefined;

/** This process's monitor, started on first use. */
export function runtimeMonitor(): RuntimeMonitor {
  monitor ??= new RuntimeMonitor();
  return monitor;
}

