import { storableText } from './inbox';

describe('storableText', () => {
  it('writes NUL, the one character a Postgres text column refuses, as \\u0000, and leaves the rest', () => {
    expect(storableText('a\u0000b\u0000')).toBe('a\\u0000b\\u0000');
    expect(storableText('tab\tand\u0001 and \u{1F600}')).toBe('tab\tand\u0001 and \u{1F600}');
    expect(storableText('{"a":"\\u0000"}')).toBe('{"a":"\\u0000"}');
  });
});
