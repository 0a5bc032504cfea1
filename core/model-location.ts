// Models in S3: `s3://bucket/prefix/` (a Hugging Face folder) or `s3://.../model.tar.gz` (SageMaker's
// ModelDataUrl). Submit checks here that this deployment may and can read the location before it
// records a run; the engine checks what it downloaded against the same folder rule.
import { posix } from "node:path";
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { InvalidRequest, ModelNotReadable } from "./errors.ts";

export type S3Location = { bucket: string; key: string };

/** `s3://bucket/key` -> { bucket, key }; undefined for anything else (a Hub id). */
export function parseS3Uri(uri: string): S3Location | undefined {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return m ? { bucket: m[1], key: m[2] } : undefined;
}

/** A SageMaker package (streamed through `tar -xz` on the instance), not a folder. */
export const isModelArchive = (key: string) => /\.(tar\.gz|tgz)$/.test(key);
export const WEIGHT_FILE = /\.(safetensors|bin|pt|pth)$/;

/**
 * A model folder within a set of paths (S3 keys or local files): the folder of the shallowest
 * config.json, with weights below it; else what is missing.
 */
export function modelFolder(paths: string[]): { folder: string } | { missing: string } {
  const config = paths
    .filter((p) => p === "config.json" || p.endsWith("/config.json"))
    .sort((a, b) => a.split("/").length - b.split("/").length)[0];
  if (config === undefined) return { missing: "no config.json: not a Hugging Face model folder" };
  const folder = posix.dirname(config);
  const below = (p: string) => folder === "." || p.startsWith(`${folder}/`);
  if (!paths.some((p) => below(p) && WEIGHT_FILE.test(p)))
    return { missing: "no weights (*.safetensors, *.bin) beside its config.json" };
  return { folder };
}

/** The folder's prefix as the engine lists it: `prefix/` (or the whole bucket). */
export const folderPrefix = (key: string) => (key === "" || key.endsWith("/") ? key : `${key}/`);

/** A listing's first page is enough to judge a model folder: one has config, tokenizer and a few shards. */
const LISTING_PAGE = 1000;

/**
 * Checks an s3:// model before a run is recorded: its bucket is one the engine's role may read (when
 * the deployment names its model buckets), and the object (model.tar.gz) or the folder (config.json and
 * weights) is there. 400 for a bucket this deployment may not read, 422 for a location that holds no
 * model or cannot be read.
 */
export async function checkModelLocation(
  s3: S3Client,
  uri: string,
  /** The deployment's model buckets; undefined where no role limits reads (the local stack). */
  buckets: string[] | undefined,
): Promise<void> {
  const location = parseS3Uri(uri);
  if (!location) return;
  const { bucket, key } = location;
  if (buckets && !buckets.includes(bucket)) {
    throw new InvalidRequest(
      `model.id ${uri}: bucket ${bucket} is not among this deployment's model buckets ` +
        `(${buckets.length ? buckets.join(", ") : "it names none"}); the engine may read only those. ` +
        "Copy the model there, or redeploy with the bucket in the modelBuckets parameter.",
    );
  }
  const unreadable = (why: string) => new ModelNotReadable(`model.id ${uri}: ${why}`);
  try {
    if (isModelArchive(key)) {
      await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return;
    }
    const prefix = folderPrefix(key);
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: LISTING_PAGE }),
    );
    const keys = (page.Contents ?? []).flatMap((o) =>
      o.Key && !o.Key.endsWith("/") ? [o.Key.slice(prefix.length)] : [],
    );
    if (!keys.length) throw unreadable(`no objects under s3://${bucket}/${prefix}`);
    const found = modelFolder(keys);
    // A folder of more than a page may hold its config further on: the engine checks it in full.
    if ("missing" in found && !page.IsTruncated) throw unreadable(found.missing);
  } catch (error) {
    if (error instanceof ModelNotReadable) throw error;
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    const status = e.$metadata?.httpStatusCode;
    if (e.name === "NoSuchBucket") throw unreadable(`bucket ${bucket} does not exist`);
    if (e.name === "NotFound" || e.name === "NoSuchKey" || status === 404)
      throw unreadable(`no object s3://${bucket}/${key}`);
    if (e.name === "AccessDenied" || e.name === "Forbidden" || status === 403)
      throw unreadable(`this deployment is denied access to it (${e.name ?? "403"})`);
    throw error;
  }
}
