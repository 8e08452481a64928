/** Where the client commands send their calls, from flags and the standard AWS environment. */
export interface AwsTargets {
  region: string;
  /** CloudTrail endpoint (undefined: AWS's). */
  endpoint?: string;
  /** S3 endpoint: AWS_ENDPOINT_URL_S3, else the CloudTrail one. */
  s3Endpoint?: string;
}

export function awsTargets(f: { region?: string; endpointUrl?: string }, env: NodeJS.ProcessEnv = process.env): AwsTargets {
  const region = f.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const endpoint = f.endpointUrl ?? env.AWS_ENDPOINT_URL_CLOUDTRAIL ?? env.AWS_ENDPOINT_URL;
  return { region, endpoint, s3Endpoint: env.AWS_ENDPOINT_URL_S3 ?? endpoint };
}
