// One factory for AWS clients, created once per module scope and reused across invocations.
// Endpoints come from the SDK's own variables (AWS_ENDPOINT_URL_DYNAMODB, _S3, _SFN, _EC2), never a switch here.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { S3Client } from "@aws-sdk/client-s3";
import { SFNClient } from "@aws-sdk/client-sfn";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

const cache = new Map<string, unknown>();
const once = <T>(name: string, make: () => T): T => {
  if (!cache.has(name)) cache.set(name, make());
  return cache.get(name) as T;
};

export const awsClients = {
  dynamo: () =>
    once("dynamo", () =>
      DynamoDBDocumentClient.from(new DynamoDBClient({}), {
        marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
      }),
    ),
  s3: () => once("s3", () => new S3Client({})),
  sfn: () => once("sfn", () => new SFNClient({})),
  ec2: () => once("ec2", () => new EC2Client({})),
};
