import { hashSecret, hashToken, newSecret, verifySecret } from './secrets';

describe('client secrets', () => {
  it('verifies the right secret and refuses any other', async () => {
    const secret = newSecret();
    const stored = await hashSecret(secret);
    expect(stored).not.toContain(secret);
    expect(await verifySecret(secret, stored)).toBe(true);
    expect(await verifySecret(`${secret}x`, stored)).toBe(false);
    expect(await verifySecret(secret, 'plain$text')).toBe(false);
  });

  it('hashes tokens deterministically without storing them', () => {
    expect(hashToken('abc')).toBe(hashToken('abc'));
    expect(hashToken('abc')).not.toBe(hashToken('abd'));
  });
});
