import { createServer } from 'node:net';
import { hostname } from 'node:os';

// Static group membership (Kafka's group.instance.id, see
// BatchConsumerSettings.groupInstanceId): how a service process names itself
// so that its restart takes over its partitions, and the check that keeps
// two running processes from sharing a name.

/**
 * A Kafka group.instance.id for one running instance of a service: the
 * service's name and the instance's id (instanceIdFromEnv). Kafka accepts
 * letters, digits, '.', '_' and '-', at most 249 of them; anything else
 * becomes '_'.
 */
export function groupInstanceIdOf(service: string, instanceId: string): string {
  const id = `${service}-${instanceId}`.replace(/[^A-Za-z0-9._-]/g, '_');
  if (id.length > groupInstanceIdLengthMax) throw new Error(`group instance id ${id} is longer than ${groupInstanceIdLengthMax} characters`);
  return id;
}

/** Kafka's limit on a group.instance.id (as on topic names). */
const groupInstanceIdLengthMax = 249;

/**
 * A service process's instance id: `env[envName]` when set, else its host
 * name and the HTTP address it binds (no two running instances bind one
 * address, and a restarted one gets the same). Port 0 (any free port) names
 * no address, and every process given it would share one id: refused, so
 * the id is set by hand.
 */
export function instanceIdFromEnv(env: Readonly<Record<string, string | undefined>>, envName: string, host: string, port: number): string {
  const set = env[envName];
  if (set !== undefined) return set;
  if (port === 0) throw new Error(`PORT 0 gives no stable instance id: set ${envName}`);
  return `${hostname()}-${host}-${port}`;
}

/**
 * Fails when `host:port` cannot be bound now. A service whose default
 * instance id names its HTTP address must not start its consumers when that
 * address is taken: the process holding it is (most likely) an instance
 * running under the same id, whose partitions the join would take. Checked
 * before the consumers start; the real listen follows.
 */
export async function assertPortFree(port: number, host: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => reject(new Error(`${host}:${port} cannot be bound (${error.message}): is another instance running there?`)));
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
