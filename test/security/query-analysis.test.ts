/**
 * Issue 17 item 1, the anonymous event-loop freeze: query analysis must be linear in the document
 * and the whole validation bounded before it. A 769-byte document whose fragments each spread the
 * next one twice (20 levels) expands to 2^20 selections; analysed without memoising fragments it
 * blocked the process for seconds (/healthz with it). Times are compared with a small query sent
 * in the same run (a ratio, never an absolute bound), so a slow machine does not decide the test.
 * Real stack: the all-in-one app on MariaDB, Redis and Ceph.
 */
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.ts';
import { errorCode, gql, type GraphQLResponse } from '../support/graphql.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t?.close());

/** `levels` fragments on Query, each spreading the next one twice; the last selects __typename. */
function fanOut(levels: number): string {
  const fragments = Array.from({ length: levels }, (_, i) =>
    i < levels - 1 ? `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }` : `fragment F${i} on Query { __typename }`,
  );
  return `query { ...F0 } ${fragments.join(' ')}`;
}

const reason = (r: GraphQLResponse) => r.errors?.[0]?.extensions?.details?.reason;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function healthz(): Promise<number> {
  return (await timed(async () => (await fetch(`${t.url}/healthz`)).status)).ms;
}

describe('query analysis is linear in the document size', () => {
  it('answers the 769-byte fragment fan-out with BAD_INPUT about as fast as a small query', async () => {
    const attack = fanOut(20);
    expect(attack.length).toBeLessThan(800);
    const small = fanOut(2);
    // Warm both paths (JIT, Apollo's document cache does not apply: a refused document is not kept).
    await gql(t.url, small);
    const smallTimes: number[] = [];
    const attackTimes: number[] = [];
    const answers: GraphQLResponse[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await timed(() => gql(t.url, small));
      expect(s.value.data).toEqual({ __typename: 'Query' });
      smallTimes.push(s.ms);
      const a = await timed(() => gql(t.url, attack));
      answers.push(a.value);
      attackTimes.push(a.ms);
      // Before the fix one attempt took seconds: stop early rather than hang the suite.
      if (a.ms > 2_000) break;
    }
    const ratio = median(attackTimes) / median(smallTimes);
    expect(ratio, `fan-out ${median(attackTimes).toFixed(1)} ms vs small ${median(smallTimes).toFixed(1)} ms`).toBeLessThan(15);
    for (const a of answers) {
      expect(errorCode(a)).toBe('BAD_INPUT');
      // 2^19 field selections once the spreads are expanded.
      expect(reason(a)).toBe('too_many_fields');
      expect(a.data ?? undefined).toBeUndefined();
    }
  });

  it('keeps /healthz responsive while fan-out queries are being answered', async () => {
    // /healthz latency while four queries are in flight: small ones first (the baseline under the
    // same load), then the attack; before the fix each fan-out blocked the process for seconds.
    const during = async (query: string) => {
      const queries = Array.from({ length: 4 }, () => gql(t.url, query));
      const samples: number[] = [];
      for (let i = 0; i < 3; i++) samples.push(await healthz());
      return { answers: await Promise.all(queries), worst: Math.max(...samples) };
    };
    const baseline = await during(fanOut(2));
    const attack = await during(fanOut(21));
    for (const r of attack.answers) expect(errorCode(r)).toBe('BAD_INPUT');
    // A ratio to the same load with small queries, with a floor for a busy machine.
    expect(attack.worst, `healthz ${attack.worst.toFixed(1)} ms vs ${baseline.worst.toFixed(1)} ms`).toBeLessThan(Math.max(10 * baseline.worst, 1_000));
  });

  it('refuses a document with too many tokens before parsing it to the end (too_many_tokens)', async () => {
    const huge = `{ ${Array.from({ length: 6_000 }, () => '__typename').join(' ')} }`;
    const res = await gql(t.url, huge);
    expect(errorCode(res)).toBe('BAD_INPUT');
    expect(reason(res)).toBe('too_many_tokens');
  });

  it('refuses a document that selects too many fields, written out or through fragments (too_many_fields)', async () => {
    const wide = `{ ${Array.from({ length: 300 }, () => '__typename').join(' ')} }`;
    expect(reason(await gql(t.url, wide))).toBe('too_many_fields');
    // Fragment cycles are graphql-js's to report; the analysis must not loop on them meanwhile.
    const cyclic = await timed(() => gql(t.url, 'query { ...A } fragment A on Query { ...B __typename } fragment B on Query { ...A }'));
    expect(errorCode(cyclic.value)).toBe('BAD_INPUT');
  });
});
