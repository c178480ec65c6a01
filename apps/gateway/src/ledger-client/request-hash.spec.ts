import { requestHash } from './ledger.client';

describe('requestHash', () => {
  it('ignores field order and distinguishes any changed value', () => {
    expect(requestHash({ a: '1', b: '2' })).toBe(requestHash({ b: '2', a: '1' }));
    expect(requestHash({ a: '1', b: '2' })).not.toBe(requestHash({ a: '1', b: '3' }));
    expect(requestHash({ a: '1', b: undefined })).not.toBe(requestHash({ a: '1', b: '' }));
  });
});
