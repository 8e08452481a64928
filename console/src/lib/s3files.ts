/** Delivered files in the object store (S3 on the same port): folder listing and reading a gzip JSON file. */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

export interface Listing {
  folders: string[];
  files: { key: string; size: number; modified?: Date }[];
  next?: string;
}

export async function listFolder(s3: S3Client, bucket: string, prefix: string, token?: string): Promise<Listing> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token, MaxKeys: 200 }));
  return {
    folders: (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? '').filter(Boolean),
    files: (out.Contents ?? []).map((o) => ({ key: o.Key ?? '', size: o.Size ?? 0, modified: o.LastModified })),
    next: out.NextContinuationToken,
  };
}

export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function readObject(s3: S3Client, bucket: string, key: string): Promise<{ body: Uint8Array; metadata: Record<string, string> }> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return { body: await out.Body!.transformToByteArray(), metadata: out.Metadata ?? {} };
}

/** A delivered log or digest file, decompressed and parsed. */
export async function readJsonGz(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  const { body } = await readObject(s3, bucket, key);
  const text = new TextDecoder().decode(key.endsWith('.gz') ? await gunzip(body) : body);
  return JSON.parse(text) as unknown;
}
