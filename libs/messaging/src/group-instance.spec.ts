import { hostname } from 'node:os';
import { groupInstanceIdOf, instanceIdFromEnv } from './group-instance';

describe('groupInstanceIdOf', () => {
  it('joins the service and instance, keeping what Kafka accepts and replacing the rest', () => {
    expect(groupInstanceIdOf('ledger', 'vm-25710-3001')).toBe('ledger-vm-25710-3001');
    expect(groupInstanceIdOf('ledger', 'host.example.com-3001')).toBe('ledger-host.example.com-3001');
    expect(groupInstanceIdOf('settlement', 'rack 1/host:3002 é')).toBe('settlement-rack_1_host_3002__');
  });

  it('refuses an id longer than Kafka allows instead of cutting it (two instances could end up sharing one)', () => {
    expect(groupInstanceIdOf('ledger', 'h'.repeat(242))).toHaveLength(249);
    expect(() => groupInstanceIdOf('ledger', 'h'.repeat(243))).toThrow(/longer than 249/);
  });
});

describe('instanceIdFromEnv', () => {
  it('names the host and the address the process binds', () => {
    expect(instanceIdFromEnv({}, 'LEDGER_INSTANCE_ID', '127.0.0.1', 3001)).toBe(`${hostname()}-127.0.0.1-3001`);
  });

  it('refuses port 0, which every process given it would share', () => {
    expect(() => instanceIdFromEnv({}, 'LEDGER_INSTANCE_ID', '127.0.0.1', 0)).toThrow(/set LEDGER_INSTANCE_ID/);
  });
});
