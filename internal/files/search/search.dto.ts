/** What a search takes and gives (the tRPC input and output of `files.search`). */
export interface SearchFilter {
  mimeTypePrefix?: string;
  modifiedAfter?: Date;
  minSize?: number;
  maxSize?: number;
  foldersOnly?: boolean;
}

export interface SearchInput {
  query: string;
  first: number;
  after?: string;
  filter?: SearchFilter;
}
