import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { keyHashPartitioner } from './kafka';
import { PARKING_SCHEMAS, listParked, replayParked, type ParkingSchema } from './parked';

// `npm run parked`: lists a service's parked messages, and sends chosen ones to their topic again.
const defaultDatabaseUrl = 'postgres://postgres:postgres@127.0.0.1:54329/settlement';
const defaultBrokers = '127.0.0.1:9092';
const usage = `usage:
  npm run parked -- list [ledger|settlement] [--limit N] [--pending]
  npm run parked -- replay <ledger|settlement> <id> [<id> ...] [--again]

DATABASE_URL and KAFKA_BROKERS default to npm start's (${defaultDatabaseUrl}, ${defaultBrokers}).`;

/** A command-line mistake: printed with the usage, exit 64. */
class UsageError extends Error {}

async function main(argv: readonly string[]): Promise<number> {
  const flags = argv.filter((a) => a.startsWith('--'));
  const unknown = flags.find((f) => !['--limit', '--pending', '--again'].includes(f));
  if (unknown !== undefined) throw new UsageError(`unknown option ${unknown}`);
  const words = argv.filter((a, i) => !a.startsWith('--') && argv[i - 1] !== '--limit');
  const [command, schemaArg = 'ledger', ...ids] = words;
  if (command !== 'list' && command !== 'replay') throw new UsageError(command === undefined ? 'no command given' : `unknown command ${command}`);
  if (!(PARKING_SCHEMAS as readonly string[]).includes(schemaArg)) throw new UsageError(`unknown service ${schemaArg}: ${PARKING_SCHEMAS.join(' or ')}`);
  const schema = schemaArg as ParkingSchema;
  const client = new Client({ connectionString: process.env['DATABASE_URL'] ?? defaultDatabaseUrl, application_name: `parked-cli/${process.pid}` });
  await client.connect();
  try {
    if (command === 'list') {
      const limitAt = argv.indexOf('--limit');
      const limit = limitAt < 0 ? 20 : Number(argv[limitAt + 1]);
      if (!Number.isInteger(limit) || limit < 1 || limit > 10000) throw new UsageError('--limit takes a whole number from 1 to 10000');
      const rows = await listParked(client, schema, { limit, pendingOnly: flags.includes('--pending') });
      if (rows.length === 0) console.log(`no parked messages in ${schema}`);
      for (const r of rows) {
        console.log(`${r.id}  ${r.parkedAt}  ${r.topic}/${r.partition}@${r.offset}  ${r.replayedAt === null ? 'not replayed' : `replayed ${r.replayedAt}`}`);
        console.log(`    reason: ${r.reason}`);
        console.log(`    raw:    ${r.raw.length > 300 ? `${r.raw.slice(0, 300)}... (${r.raw.length} characters)` : r.raw}`);
      }
      return 0;
    }
    if (ids.length === 0) throw new UsageError('replay needs the ids of the messages to send again (see list)');
    const kafka = new Kafka({ clientId: 'parked-cli', brokers: (process.env['KAFKA_BROKERS'] ?? defaultBrokers).split(','), logLevel: logLevel.ERROR });
    const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1, createPartitioner: keyHashPartitioner });
    await producer.connect();
    try {
      // One at a time, each line printed once done: should a send fail midway, what went out before it is known.
      let allSent = true;
      for (const id of ids) {
        const o = await replayParked(client, producer, schema, id, { again: flags.includes('--again') });
        console.log(o.replayed ? `${o.id}: sent to ${o.topic} (key ${o.key})` : `${o.id}: not sent, ${o.why}`);
        allSent &&= o.replayed;
      }
      return allSent ? 0 : 1;
    } finally {
      await producer.disconnect();
    }
  } finally {
    await client.end();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${usage}`);
      process.exit(64);
    }
    console.error(`parked: ${error.message}`);
    process.exit(2);
  },
);
