/** What an S3 bucket holds: its objects, their bytes, its open multipart uploads (for tests and scripts/s3-usage.ts). */
import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

export interface BucketUsage {
  bucket: string;
  created: string;
  objects: number;
  bytes: number;
  multipartUploads: number;
}

export async function bucketUsage(client: S3Client, bucket: string, created = ''): Promise<BucketUsage> {
  let objects = 0;
  let bytes = 0;
  for (let token: string | undefined, more = true; more; ) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      objects++;
      bytes += o.Size ?? 0;
    }
    token = page.NextContinuationToken;
    more = page.IsTruncated === true && token !== undefined;
  }
  let multipartUploads = 0;
  for (let keyMarker: string | undefined, idMarker: string | undefined, more = true; more; ) {
    const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, KeyMarker: keyMarker, UploadIdMarker: idMarker }));
    multipartUploads += page.Uploads?.length ?? 0;
    keyMarker = page.NextKeyMarker;
    idMarker = page.NextUploadIdMarker;
    more = page.IsTruncated === true;
  }
  return { bucket, created, objects, bytes, multipartUploads };
}
