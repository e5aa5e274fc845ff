import { describe, expect, it } from 'vitest';
import { evaluateIf, IfHeaderSyntaxError, parseIfHeader, submittedTokens, type ResourceState } from './if-header.ts';

const T1 = 'opaquelocktoken:5a7e1c0e-0000-4000-8000-000000000001';
const T2 = 'urn:uuid:5a7e1c0e-0000-4000-8000-000000000002';

describe('If header parser (RFC 4918 §10.4)', () => {
  it('parses untagged lists with tokens, ETags and Not', () => {
    expect(parseIfHeader(`(<${T1}> ["abc"]) (Not <DAV:no-lock>)`)).toEqual([
      { resource: null, conditions: [{ not: false, token: T1 }, { not: false, etag: '"abc"' }] },
      { resource: null, conditions: [{ not: true, token: 'DAV:no-lock' }] },
    ]);
  });

  it('parses tagged lists; a tag covers every list up to the next tag', () => {
    const lists = parseIfHeader(`<http://h/dav/a> (<${T1}>) (["x"]) </dav/b> (Not ["y"])`);
    expect(lists.map((l) => l.resource)).toEqual(['http://h/dav/a', 'http://h/dav/a', '/dav/b']);
    expect(lists[2]?.conditions).toEqual([{ not: true, etag: '"y"' }]);
  });

  it('accepts "not" in any case and no space between lists', () => {
    expect(parseIfHeader(`(not<${T1}>)(["e"])`)).toHaveLength(2);
  });

  it.each([
    ['', 'empty'],
    ['()', 'empty list'],
    ['(<a>', 'unclosed list'],
    ['(<a)', 'unclosed token'],
    ['<http://h/a>', 'tag without list'],
    ['(<a>) <http://h/b> (<c>)', 'untagged then tagged'],
    ['<http://h/b> (<c>) (Nope <a>)', 'bad keyword'],
    ['(["e")', 'unclosed etag'],
    ['abc', 'garbage'],
    ['(<>)', 'empty token'],
  ])('refuses %j (%s)', (header) => {
    expect(() => parseIfHeader(header)).toThrow(IfHeaderSyntaxError);
  });

  it('drops a list the header was cut off inside, when complete lists came before (litmus cuts at 199 bytes)', () => {
    const etag = `"${'a'.repeat(64)}"`;
    const cut = `(<${T1}> [${etag}]) (Not <DAV:no-lock> [${etag}])`.slice(0, 199);
    expect(parseIfHeader(cut)).toEqual([{ resource: null, conditions: [{ not: false, token: T1 }, { not: false, etag }] }]);
    expect([...submittedTokens(parseIfHeader(`(["x"]) (<${T2}`))]).toEqual([]);
    expect(() => parseIfHeader(`(<${T1}> ["x`)).toThrow(IfHeaderSyntaxError);
  });

  it('refuses an oversized header', () => {
    expect(() => parseIfHeader(`(<${T1}>)`.repeat(2000))).toThrow(IfHeaderSyntaxError);
  });

  it('collects every submitted token, also under Not', () => {
    expect([...submittedTokens(parseIfHeader(`<http://h/w> (Not <${T1}>) <http://h/x> (<${T2}>)`))]).toEqual([T1, T2]);
  });
});

describe('If header evaluation', () => {
  const locked: ResourceState = { etag: '"abc"', lockTokens: new Set([T1]) };
  const plain: ResourceState = { etag: '"abc"', lockTokens: new Set() };
  const evaluate = (header: string, state: ResourceState) => evaluateIf(parseIfHeader(header), () => Promise.resolve(state));

  it('a list is true when all its conditions are; the header when one list is', async () => {
    expect(await evaluate(`(<${T1}> ["abc"])`, locked)).toBe(true);
    expect(await evaluate(`(<${T1}> ["abd"])`, locked)).toBe(false);
    expect(await evaluate(`(<${T1}> ["abd"]) (["abc"])`, locked)).toBe(true);
  });

  it('DAV:no-lock never matches, so Not <DAV:no-lock> always does', async () => {
    expect(await evaluate('(<DAV:no-lock>)', plain)).toBe(false);
    expect(await evaluate('(Not <DAV:no-lock>)', plain)).toBe(true);
    expect(await evaluate(`(<${T1}x>) (Not <DAV:no-lock>)`, locked)).toBe(true);
  });

  it('a token matches only a lock that covers the resource now', async () => {
    expect(await evaluate(`(<${T1}>)`, plain)).toBe(false);
    expect(await evaluate(`(Not <${T1}>)`, plain)).toBe(true);
  });

  it('ETags compare strongly; a weak tag or a missing resource never matches', async () => {
    expect(await evaluate('([W/"abc"])', plain)).toBe(false);
    expect(await evaluate('(["abc"])', { etag: null, lockTokens: new Set() })).toBe(false);
  });

  it('tagged lists are checked against their own resource', async () => {
    const seen: (string | null)[] = [];
    const result = await evaluateIf(parseIfHeader(`</dav/a> (["abc"]) </dav/b> (["abc"])`), (r) => {
      seen.push(r);
      return Promise.resolve(r === '/dav/b' ? plain : { etag: '"zzz"', lockTokens: new Set<string>() });
    });
    expect(result).toBe(true);
    expect(seen).toEqual(['/dav/a', '/dav/b']);
  });
});
