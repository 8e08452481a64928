/**
 * AddTags, RemoveTags and ListTags over every CloudTrail resource that has tags: trails, event data
 * stores and channels (AWS's ResourceId is any of their ARNs). Each kind reads and writes its own
 * tags; the rules (at most 50, key and value syntax) are kept here once.
 */
import { CloudTrailARNInvalidException, InvalidParameterException, InvalidTagParameterException, InvalidTokenException, TagsLimitExceededException } from '../protocols/errors.js';
import type { Tag } from './trail-model.js';
import type { Caller } from './trails.js';

/** One kind of taggable resource. `read` throws the kind's own not-found error. */
export interface TagStore {
  /** Does this ARN name a resource of this kind (whether or not it exists)? */
  owns(arn: string): boolean;
  /** AWS's resource type of the kind (for the record of a tagging call). */
  resourceType: string;
  read(c: Caller, arn: string): Promise<Tag[]>;
  write(c: Caller, arn: string, tags: Tag[]): Promise<void>;
}

export function validateTags(tags: Tag[]): void {
  if (tags.length > 50) throw new TagsLimitExceededException('A resource can have at most 50 tags.');
  for (const tag of tags) {
    if (!tag.Key || tag.Key.length > 128) throw new InvalidTagParameterException('Tag keys must be 1 to 128 characters long.');
    if (tag.Key.toLowerCase().startsWith('aws:')) throw new InvalidTagParameterException('Tag keys cannot start with aws:.');
    if (tag.Value !== undefined && tag.Value.length > 256) throw new InvalidTagParameterException('Tag values must be at most 256 characters long.');
    if (!/^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u.test(tag.Key + (tag.Value ?? ''))) {
      throw new InvalidTagParameterException('Tag keys and values may contain only letters, numbers, spaces and _ . : / = + - @.');
    }
  }
}

export class ResourceTags {
  constructor(private readonly kinds: TagStore[]) {}

  private kind(arn: string): TagStore {
    const k = this.kinds.find((x) => x.owns(arn));
    if (!k) throw new CloudTrailARNInvalidException(`Invalid resource ARN: ${arn}. Tags apply to trails, event data stores and channels.`);
    return k;
  }

  /** AWS's resource type of the resource an ARN names, if it names a taggable one. */
  resourceType(arn: string): string | undefined {
    return this.kinds.find((x) => x.owns(arn))?.resourceType;
  }

  async add(c: Caller, arn: string, tags: Tag[]): Promise<void> {
    const k = this.kind(arn);
    const current = await k.read(c, arn);
    validateTags(tags);
    const merged = new Map(current.map((x) => [x.Key, x]));
    for (const tag of tags) merged.set(tag.Key, tag);
    if (merged.size > 50) throw new TagsLimitExceededException(`The number of tags on ${arn} would exceed the limit of 50.`);
    await k.write(c, arn, [...merged.values()]);
  }

  async remove(c: Caller, arn: string, tags: Tag[]): Promise<void> {
    const k = this.kind(arn);
    const current = await k.read(c, arn);
    validateTags(tags);
    const drop = new Set(tags.map((x) => x.Key));
    await k.write(c, arn, current.filter((x) => !drop.has(x.Key)));
  }

  async list(c: Caller, arns: string[], nextToken: string | undefined): Promise<{ ResourceTagList: { ResourceId: string; TagsList: Tag[] }[]; NextToken?: string }> {
    if (arns.length > 20) throw new InvalidParameterException('ResourceIdList can hold at most 20 resources.');
    if (nextToken !== undefined) throw new InvalidTokenException('Invalid NextToken.');
    const out = [];
    for (const arn of arns) out.push({ ResourceId: arn, TagsList: await this.kind(arn).read(c, arn) });
    return { ResourceTagList: out };
  }
}
