/** A tiny GraphQL-over-HTTP client for end-to-end tests. */
export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string; details?: Record<string, unknown> } }[];
}

export async function gql<T = Record<string, unknown>>(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<GraphQLResponse<T>> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: res.status, ...body };
}

export function errorCode(response: GraphQLResponse): string | undefined {
  return response.errors?.[0]?.extensions?.code;
}

/** The bytes the signed-in person's quota counts (`me { quota { used } }`). */
export async function quotaUsed(url: string, token: string): Promise<number | undefined> {
  return (await gql<{ me: { quota: { used: number } } }>(url, '{ me { quota { used } } }', {}, token)).data?.me.quota.used;
}

/** The names of the first 100 items of the person's root folder. */
export async function rootNames(url: string, token: string): Promise<string[] | undefined> {
  const res = await gql<{ folder: { children: { edges: { node: { name: string } }[] } } }>(url, '{ folder { children(first: 100) { edges { node { name } } } } }', {}, token);
  return res.data?.folder.children.edges.map((e) => e.node.name);
}
