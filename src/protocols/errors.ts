/**
 * Typed service errors. One class per AWS error code; the wire mapping
 * (status, `__type`, message) happens once, in the protocol layer.
 */
export class ServiceError extends Error {
  readonly code: string;
  readonly statusCode: number;
  constructor(code: string, message: string, statusCode = 400) {
    super(message);
    this.code = code;
    this.statusCode = statusCode;
    this.name = code;
  }
}

type ErrorClass = new (message: string) => ServiceError;

function define(code: string, statusCode = 400): ErrorClass {
  const cls = class extends ServiceError {
    constructor(message: string) {
      super(code, message, statusCode);
    }
  };
  Object.defineProperty(cls, 'name', { value: code });
  return cls;
}

// Generic AWS front-end errors.
export const UnknownOperationException = define('UnknownOperationException');
export const SerializationException = define('SerializationException');
export const ValidationException = define('ValidationException');
export const UnrecognizedClientException = define('UnrecognizedClientException');
export const InvalidSignatureException = define('InvalidSignatureException');
export const IncompleteSignatureException = define('IncompleteSignatureException');
export const MissingAuthenticationTokenException = define('MissingAuthenticationTokenException');
export const AccessDeniedException = define('AccessDeniedException');
export const ThrottlingException = define('ThrottlingException');
export const InternalFailure = define('InternalFailure', 500);
export const ServiceUnavailable = define('ServiceUnavailable', 503);

// CloudTrail errors used so far (all HTTP 400 per the model).
export const InvalidLookupAttributesException = define('InvalidLookupAttributesException');
export const InvalidTimeRangeException = define('InvalidTimeRangeException');
export const InvalidMaxResultsException = define('InvalidMaxResultsException');
export const InvalidNextTokenException = define('InvalidNextTokenException');
export const InvalidEventCategoryException = define('InvalidEventCategoryException');
export const UnsupportedOperationException = define('UnsupportedOperationException');
export const InvalidTrailNameException = define('InvalidTrailNameException');
export const TrailNotFoundException = define('TrailNotFoundException');
export const InvalidTokenException = define('InvalidTokenException');
export const InvalidEventSelectorsException = define('InvalidEventSelectorsException');
export const InvalidInsightSelectorsException = define('InvalidInsightSelectorsException');
export const InsightNotEnabledException = define('InsightNotEnabledException');
export const TrailAlreadyExistsException = define('TrailAlreadyExistsException');
export const MaximumNumberOfTrailsExceededException = define('MaximumNumberOfTrailsExceededException');
export const S3BucketDoesNotExistException = define('S3BucketDoesNotExistException');
export const InsufficientS3BucketPolicyException = define('InsufficientS3BucketPolicyException');
export const InvalidS3BucketNameException = define('InvalidS3BucketNameException');
export const InvalidS3PrefixException = define('InvalidS3PrefixException');
export const InvalidSnsTopicNameException = define('InvalidSnsTopicNameException');
export const InvalidHomeRegionException = define('InvalidHomeRegionException');
export const CloudTrailARNInvalidException = define('CloudTrailARNInvalidException');
export const InvalidParameterCombinationException = define('InvalidParameterCombinationException');
export const InvalidParameterException = define('InvalidParameterException');
export const InvalidCloudWatchLogsLogGroupArnException = define('InvalidCloudWatchLogsLogGroupArnException');
export const InvalidCloudWatchLogsRoleArnException = define('InvalidCloudWatchLogsRoleArnException');
export const ResourceNotFoundException = define('ResourceNotFoundException');
export const TagsLimitExceededException = define('TagsLimitExceededException');
export const InvalidTagParameterException = define('InvalidTagParameterException');
export const ResourceTypeNotSupportedException = define('ResourceTypeNotSupportedException');
export const TrailNotProvidedException = define('TrailNotProvidedException');
export const OrganizationsNotInUseException = define('OrganizationsNotInUseException');

// EventBridge errors.
export const InvalidEventPatternException = define('InvalidEventPatternException');
export const ResourceAlreadyExistsException = define('ResourceAlreadyExistsException');
export const LimitExceededException = define('LimitExceededException');

// CloudTrail Lake errors.
export const EventDataStoreNotFoundException = define('EventDataStoreNotFoundException');
export const EventDataStoreAlreadyExistsException = define('EventDataStoreAlreadyExistsException');
export const EventDataStoreMaxLimitExceededException = define('EventDataStoreMaxLimitExceededException');
export const EventDataStoreTerminationProtectedException = define('EventDataStoreTerminationProtectedException');
export const EventDataStoreARNInvalidException = define('EventDataStoreARNInvalidException');
export const InactiveEventDataStoreException = define('InactiveEventDataStoreException');
export const InvalidQueryStatementException = define('InvalidQueryStatementException');
export const InactiveQueryException = define('InactiveQueryException');
export const QueryIdNotFoundException = define('QueryIdNotFoundException');
export const MaxConcurrentQueriesException = define('MaxConcurrentQueriesException');

// Channels, resource policies and the CloudTrail Data API.
export const ChannelNotFoundException = define('ChannelNotFoundException');
export const ChannelAlreadyExistsException = define('ChannelAlreadyExistsException');
export const ChannelARNInvalidException = define('ChannelARNInvalidException');
export const ChannelMaxLimitExceededException = define('ChannelMaxLimitExceededException');
export const InvalidEventDataStoreCategoryException = define('InvalidEventDataStoreCategoryException');
export const InvalidSourceException = define('InvalidSourceException');
export const ResourceARNNotValidException = define('ResourceARNNotValidException');
export const ResourcePolicyNotValidException = define('ResourcePolicyNotValidException');
export const ResourcePolicyNotFoundException = define('ResourcePolicyNotFoundException');
export const ChannelExistsForEDSException = define('ChannelExistsForEDSException');
export const ChannelInsufficientPermission = define('ChannelInsufficientPermission');
export const ChannelNotFound = define('ChannelNotFound');
export const InvalidChannelARN = define('InvalidChannelARN');
export const DuplicatedAuditEventId = define('DuplicatedAuditEventId');
export const ImportNotFoundException = define('ImportNotFoundException');
export const AccountHasOngoingImportException = define('AccountHasOngoingImportException');
export const InvalidImportSourceException = define('InvalidImportSourceException');

// SQS errors (rule targets' dead-letter queues).
export const QueueDoesNotExist = define('QueueDoesNotExist');
export const ReceiptHandleIsInvalid = define('ReceiptHandleIsInvalid');
export const InvalidParameterValue = define('InvalidParameterValue');
