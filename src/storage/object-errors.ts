/** Object store errors, named as S3 names them (the S3 service maps them to the wire). */
import { ServiceError } from '../protocols/errors.js';

export class ObjectStoreError extends ServiceError {
  constructor(code: string, message: string, statusCode: number, readonly bucket?: string, readonly key?: string) {
    super(code, message, statusCode);
  }
}

export const noSuchBucket = (bucket: string): ObjectStoreError =>
  new ObjectStoreError('NoSuchBucket', 'The specified bucket does not exist', 404, bucket);
export const noSuchKey = (bucket: string, key: string): ObjectStoreError =>
  new ObjectStoreError('NoSuchKey', 'The specified key does not exist.', 404, bucket, key);
export const bucketNotEmpty = (bucket: string): ObjectStoreError =>
  new ObjectStoreError('BucketNotEmpty', 'The bucket you tried to delete is not empty', 409, bucket);
export const bucketExists = (bucket: string, ownedByYou: boolean): ObjectStoreError =>
  ownedByYou
    ? new ObjectStoreError('BucketAlreadyOwnedByYou', 'Your previous request to create the named bucket succeeded and you already own it.', 409, bucket)
    : new ObjectStoreError('BucketAlreadyExists', 'The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.', 409, bucket);
export const invalidBucketName = (bucket: string): ObjectStoreError =>
  new ObjectStoreError('InvalidBucketName', 'The specified bucket is not valid.', 400, bucket);
export const preconditionFailed = (bucket: string, key: string): ObjectStoreError =>
  new ObjectStoreError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412, bucket, key);
export const invalidRange = (bucket: string, key: string): ObjectStoreError =>
  new ObjectStoreError('InvalidRange', 'The requested range is not satisfiable', 416, bucket, key);
export const noSuchBucketPolicy = (bucket: string): ObjectStoreError =>
  new ObjectStoreError('NoSuchBucketPolicy', 'The bucket policy does not exist', 404, bucket);

/** S3's bucket naming rules. */
export function validBucketName(name: string): boolean {
  return (
    name.length >= 3 &&
    name.length <= 63 &&
    /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name) &&
    !name.includes('..') &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name) &&
    !name.startsWith('xn--') &&
    !name.endsWith('-s3alias')
  );
}
