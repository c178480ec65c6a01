import { ENVELOPE_FIELD_LENGTH_MAX, envelopeProblem, envelopeV1 } from './envelope';
import { identifierProblem } from './identifier';

describe('identifierProblem', () => {
  it('counts code points, and refuses control characters and lone surrogates', () => {
    expect(identifierProblem('a'.repeat(4), 4)).toBeNull();
    expect(identifierProblem('\u{1F600}'.repeat(4), 4)).toBeNull();
    expect(identifierProblem('a'.repeat(5), 4)).toBe('is too long');
    expect(identifierProblem('', 4)).toBe('must be a non-empty string');
    expect(identifierProblem(['a'], 4)).toBe('must be a non-empty string');
    expect(identifierProblem('a\u007f', 4)).toBe('has control characters');
    expect(identifierProblem('\uDC00a', 4)).toBe('has a lone surrogate');
  });
});

describe('envelopeProblem', () => {
  const good = envelopeV1({ eventId: 'e1', type: 'order.created', aggregateId: 'm:u:USDT', causationId: 'c', correlationId: 'r', payload: {} });

  it('takes an envelope as envelopeV1 writes it', () => {
    expect(envelopeProblem(JSON.parse(JSON.stringify(good)))).toBeNull();
  });

  it('refuses ids a consumer could not store or index', () => {
    expect(envelopeProblem({ ...good, eventId: 'e\u0000' })).toBe('eventId has control characters');
    expect(envelopeProblem({ ...good, correlationId: 'x'.repeat(ENVELOPE_FIELD_LENGTH_MAX + 1) })).toBe('correlationId is too long');
    expect(envelopeProblem({ ...good, type: '' })).toBe('missing type');
    expect(envelopeProblem({ ...good, payload: null })).toBe('missing payload');
  });
});
