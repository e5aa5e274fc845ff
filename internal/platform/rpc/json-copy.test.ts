/**
 * jsonCopy must answer exactly what JSON.parse(JSON.stringify(value)) answers (what a service call
 * over HTTP delivers), so an in-process call and an HTTP call stay indistinguishable to the caller.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger } from '../logger.ts';
import { localClient } from './client.ts';
import { jsonCopy } from './json-copy.ts';
import { publicProcedure, router } from './trpc.ts';

const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

class Money {
  constructor(readonly cents: number) {}
  toJSON(key: string) {
    return `${key}:${this.cents / 100}`;
  }
}

const VALUES: [string, unknown][] = [
  ['a listing page', { edges: [{ cursor: 'c1', node: { id: 'a', name: 'x.txt', size: 12, updatedAt: new Date(0), parentId: null, gone: undefined } }], totalCount: 300, hasNextPage: true }],
  ['Dates anywhere', [new Date('2026-12-05T10:00:00.123Z'), { at: new Date(1) }]],
  ['undefined, functions and symbols: left out of objects, null in arrays', { u: undefined, f: () => 1, s: Symbol('s'), list: [undefined, () => 1, Symbol('t'), 1] }],
  ['numbers JSON cannot hold', { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, neg: Number.NEGATIVE_INFINITY, zero: -0, list: [Number.NaN, -0] }],
  ['toJSON with the property key', { price: new Money(250), list: [new Money(100)] }],
  ['Maps, Sets and class instances', { map: new Map([['a', 1]]), set: new Set([1]), money: Object.assign(Object.create({ inherited: 1 }) as object, { own: 2 }) }],
  ['a Buffer', { bytes: Buffer.from('hi') }],
  ['holes in arrays', { list: [1, , 3] }], // eslint-disable-line no-sparse-arrays
  ['boxed primitives (handed to JSON)', { n: Object(1) as unknown, s: Object('s') as unknown, b: Object(false) as unknown }],
  ['a __proto__ key (handed to JSON)', JSON.parse('{"__proto__": {"x": 1}, "y": 2}')],
  ['plain primitives', 'text'],
  ['null', null],
  ['a deep chain', Array.from({ length: 100 }).reduce<unknown>((inner) => ({ inner }), { leaf: new Date(5) })],
];

describe('jsonCopy', () => {
  it.each(VALUES)('%s: the same as JSON.parse(JSON.stringify())', (_, value) => {
    const copy = jsonCopy(value);
    expect(copy).toStrictEqual(viaJson(value));
    expect(JSON.stringify(copy)).toBe(JSON.stringify(value));
  });

  it('turns −0 into 0 as JSON does', () => {
    expect(Object.is(jsonCopy({ z: -0 }).z, 0)).toBe(true);
  });

  it('shares no object with its input', () => {
    const input = { page: [{ id: 'a' }], meta: { total: 1 } };
    const copy = jsonCopy(input);
    copy.page[0]!.id = 'changed';
    copy.meta.total = 2;
    expect(input).toEqual({ page: [{ id: 'a' }], meta: { total: 1 } });
  });

  it('keeps undefined as it is (JSON.stringify(undefined) has no text to parse)', () => {
    expect(jsonCopy(undefined)).toBeUndefined();
  });

  it('throws as JSON does on a cycle and on a BigInt', () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    expect(() => jsonCopy(cycle)).toThrow(TypeError);
    expect(() => jsonCopy({ n: 1n })).toThrow(TypeError);
  });
});

describe('the in-process service client copies results as HTTP would', () => {
  const kept = { at: new Date('2026-01-02T03:04:05.000Z'), gone: undefined, n: Number.NaN, nested: { count: 1 } };
  const testRouter = router({
    thing: publicProcedure.query(() => kept),
    echo: publicProcedure.input(z.object({ text: z.string() })).mutation(({ input }) => ({ text: input.text, when: new Date(0) })),
  });
  const client = localClient(testRouter, createLogger({ level: 'silent' }));

  it('answers the JSON form of a query result, never the service’s own objects', async () => {
    const got = (await client.thing.query()) as unknown as Record<string, unknown>;
    expect(got).toStrictEqual({ at: '2026-01-02T03:04:05.000Z', n: null, nested: { count: 1 } });
    (got.nested as { count: number }).count = 99;
    expect(kept.nested.count).toBe(1);
  });

  it('answers the JSON form of a mutation result', async () => {
    expect(await client.echo.mutate({ text: 'hi' })).toStrictEqual({ text: 'hi', when: '1970-01-01T00:00:00.000Z' });
  });
});
