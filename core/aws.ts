// AWS clients, each created once per module scope and reused across invocations. One function per
// client, so a Lambda bundle carries only the clients its handler calls (the SDK packages have no side
// effects, and esbuild drops what nothing references).
// Endpoints come from the SDK's own variables (AWS_ENDPOINT_URL_DYNAMODB, _S3, _SFN, _EC2, _EVENTBRIDGE), never a switch here.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SFNClient } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

let dynamo: DynamoDBDocumentClient | undefined;
export const dynamoClient = () => {
  dynamo ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
  return dynamo;
};

let s3: S3Client | undefined;
export const s3Client = () => {
  s3 ??= new S3Client({});
  return s3;
};

let sfn: SFNClient | undefined;
export const sfnClient = () => {
  sfn ??= new SFNClient({});
  return sfn;
};

let ec2: EC2Client | undefined;
export const ec2Client = () => {
  ec2 ??= new EC2Client({});
  return ec2;
};

let events: EventBridgeClient | undefined;
export const eventBridgeClient = () => {
  events ??= new EventBridgeClient({});
  return events;
};
