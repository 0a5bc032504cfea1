// Raw results, per-sample logs and engine logs in S3, under the run they belong to.
import {
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  paginateListObjectsV2,
  type S3Client,
} from "@aws-sdk/client-s3";
import { NotFound } from "./errors.ts";

export const artifactKeys = {
  attemptPrefix: (runId: string, attempt: number) => `runs/${runId}/attempt-${attempt}/`,
  results: (runId: string, attempt: number, file = "results.json") =>
    `runs/${runId}/attempt-${attempt}/${file}`,
  log: (runId: string, attempt: number) => `runs/${runId}/attempt-${attempt}/engine.log`,
  cache: (runId: string) => `runs/${runId}/cache/`,
  neuronCache: () => "neuron-cache/",
};

/** Where an artifact lives, for people and other tools; needs no client. */
export const s3Uri = (bucket: string, key: string) => `s3://${bucket}/${key}`;

export class Artifacts {
  readonly s3: S3Client;
  readonly bucket: string;
  constructor(s3: S3Client, bucket: string) {
    this.s3 = s3;
    this.bucket = bucket;
  }

  uri(key: string) {
    return s3Uri(this.bucket, key);
  }

  async getText(key: string): Promise<string> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await out.Body?.transformToString("utf8")) ?? "";
    } catch (error) {
      if (error instanceof NoSuchKey || (error as { name?: string }).name === "NoSuchKey") {
        throw new NotFound(`no object ${this.uri(key)}`);
      }
      throw error;
    }
  }

  async getBytes(key: string): Promise<Uint8Array> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    return (await out.Body?.transformToByteArray()) ?? new Uint8Array();
  }

  /**
   * Is the object there? One listing of its key, so the caller needs only s3:ListBucket on a prefix
   * (a HeadObject without ListBucket answers 403 for a missing key, not 404).
   */
  async exists(key: string): Promise<boolean> {
    const out = await this.s3.send(
      new ListObjectsV2Command({ Bucket: this.bucket, Prefix: key, MaxKeys: 1 }),
    );
    return out.Contents?.[0]?.Key === key;
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const page of paginateListObjectsV2(
      { client: this.s3 },
      { Bucket: this.bucket, Prefix: prefix },
    )) {
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    }
    return keys;
  }

  async putText(key: string, body: string | Uint8Array, contentType = "application/json"): Promise<string> {
    await this.s3.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType }),
    );
    return key;
  }
}
