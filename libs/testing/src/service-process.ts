import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The three services, as built by `npm run build` into dist/apps/<name>/main.js. */
export type ServiceName = 'gateway' | 'ledger' | 'settlement';

/** How long a service may take from spawn to a healthy /health answer (migrations, Kafka group join). */
const readyTimeoutMs = 90000;
/** Grace after SIGTERM before SIGKILL when stopping. */
const stopGraceMs = 15000;

/**
 * V8 heap limits per service (also in docker-compose.yml). Under saturation
 * the gateway's live heap measured 59 MB, yet without a cap V8 let garbage grow
 * the heap past 180 MB before a full collection (RSS 360-390 MB); capped, RSS
 * stays under the 250 MB target for a little more GC work. The ledger's batches
 * (up to 1 MiB per partition, three partitions at once) get more room: 512
 * MB, not 192. In bench:ledger every batch's objects outlive two scavenges
 * and are promoted, and at 192 MB old-space marking ran all the time (89-96
 * ms of incremental steps a second; 46-63 at 512); ledger CPU per command
 * 143/153 -> 134/118 us, back to back. RSS in bench:ledger stayed ~300-320
 * MB either way, and in the system benchmark the ledger peaked at 161 MB. The
 * gateway's young generation is 16 MB, not 8: at 1,000 orders/s its
 * scavenges (each ~7 ms, whatever the size) came 10-11 times a second, 82-86
 * ms of pauses a second; with 16 MB, 5.7 a second, 47 ms (peak RSS 215 MB).
 * Tried and left out (system benchmark, --trace-gc): 32 MB brought the
 * gateway's peak RSS to 248 MB, at the edge of the 250 MB target, with no
 * CPU per order to show for it; at 64 MB the 128 MB old space could no longer
 * take a full young generation's promotions and V8 collected it all the time
 * (gateway 1.6 ms CPU per order instead of 0.45-0.5). --single-threaded-gc
 * made the gateway's scavenges slower (three pairs: p50 9.7-13.7 ms against
 * 8.5-9.9, 65-85 ms of pauses a second against 61-63): its young objects survive
 * at ~30% (3.4 MB of 11.5 in one traced scavenge, most of it promoted), and
 * the parallel scavenger copies them faster even on two shared cores.
 *
 * --heap-growing-percent=100: after a full collection V8 lets the old space
 * grow to twice the live heap before the next one (its own factor, chosen
 * from the mutator's speed, stayed near 1.1-1.3 here). With ~37 MB live the
 * old space got ~6 MB of headroom, and each service ran a full collection
 * every ~2 s at 500 requests/s (4-14 ms pauses plus incremental steps of up
 * to 12 ms, on every request in flight); with the flag, every 8-15 s.
 * bench:intake --rate 250, two pairs back to back: p99 per endpoint 24.0-27.9
 * ms against 25.7-35.1, saturation 2,679-2,730 creates/s against
 * 2,279-2,509; peak RSS +18 MB (gateway 190, ledger 175, settlement 144).
 * bench:ledger 300k, back to back: 10,286 commands/s against 9,033, ledger
 * CPU 77 us per command against 98, peak RSS 314 MB against 288. A larger
 * factor (200) or young generation (64 MB) gained nothing more there.
 */
export const serviceHeapFlags: Record<ServiceName, readonly string[]> = {
  gateway: ['--max-old-space-size=128', '--max-semi-space-size=16', '--heap-growing-percent=100'],
  settlement: ['--max-old-space-size=128', '--max-semi-space-size=8', '--heap-growing-percent=100'],
  ledger: ['--max-old-space-size=512', '--max-semi-space-size=16', '--heap-growing-percent=100'],
};

/** A service running as a real OS process, the way a deployment runs it. */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<unknown> | undefined;

  constructor(
    readonly name: ServiceName,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly options: { repoRoot: string; logDir: string },
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the spawned process has not exited (a SIGSTOPped process is still running). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Spawns the process and waits until its /health answers 200. */
  async start(): Promise<void> {
    mkdirSync(this.options.logDir, { recursive: true });
    const log = createWriteStream(join(this.options.logDir, `${this.name}-${this.port}.log`), { flags: 'a' });
    // SERVICE_NODE_FLAGS: extra node flags for the services, for example `--cpu-prof --cpu-prof-dir=/tmp/prof` (not allowed in NODE_OPTIONS).
    const extraFlags = (process.env['SERVICE_NODE_FLAGS'] ?? '').split(' ').filter((f) => f !== '');
    const child = spawn(process.execPath, ['--enable-source-maps', ...serviceHeapFlags[this.name], ...extraFlags, join(this.options.repoRoot, 'dist', 'apps', this.name, 'main.js')], {
      cwd: this.options.repoRoot,
      env: { ...process.env, ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    this.child = child;
    this.exited = once(child, 'exit');
    await this.waitHealthy();
  }

  private async waitHealthy(): Promise<void> {
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (this.child?.exitCode !== null) throw new Error(`${this.name} exited with ${this.child?.exitCode} during startup (log in ${this.options.logDir})`);
      try {
        const response = await fetch(`${this.url}/health`);
        if (response.ok) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${this.name} not healthy within ${readyTimeoutMs} ms (log in ${this.options.logDir})`);
  }

  /** Sends a signal; SIGKILL simulates a crash, SIGSTOP/SIGCONT a freeze. */
  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  /** Kills with SIGKILL and waits for the exit: no shutdown hooks run. */
  async crash(): Promise<void> {
    if (this.child === undefined || !this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after a grace period. */
  async stop(): Promise<void> {
    if (this.child === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), stopGraceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
