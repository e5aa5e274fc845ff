/** S3, OSS and COS send ETags quoted ("abc"); the ObjectStore contract carries them bare. */
export function unquote(etag: string | undefined): string {
  return (etag ?? '').replace(/^"|"$/g, '');
}
