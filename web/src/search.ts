/** Search over the viewer's drive (Query.search): what the search box asks and shows. */
import { gql } from './api.ts';
import { SearchDocument, type SearchQuery } from './graphql.generated.ts';

export type SearchResults = SearchQuery['search'];
export type SearchHit = SearchResults['edges'][number]['node'];

/** The web app's page of results: each result reads its folder path, so fewer than the API's 50. */
export const SEARCH_PAGE = 20;

export async function searchDrive(query: string, after: string | null = null): Promise<SearchResults> {
  return (await gql(SearchDocument, { query, first: SEARCH_PAGE, after })).search;
}

/** "My drive / Work / 2024": where a result sits (its ancestors, the root first). */
export function pathOf(hit: SearchHit): string {
  return ['My drive', ...hit.ancestors.filter((a) => a.name !== '').map((a) => a.name)].join(' / ');
}

/** A query the server would refuse (no letter or digit): the box says so without asking. */
export function searchable(query: string): boolean {
  return /[\p{L}\p{N}]/u.test(query);
}
