// Models from S3: a folder in Hugging Face layout (s3://bucket/prefix/) or SageMaker's ModelDataUrl
// (s3://bucket/.../model.tar.gz), streamed onto local disk (a tarball through `tar -xz`, never held in
// memory), checked for config.json and weights, and handed to the backend as a local path.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, paginateListObjectsV2, type S3Client } from "@aws-sdk/client-s3";
import { folderPrefix, isModelArchive, modelFolder, parseS3Uri } from "../core/model-location.ts";
import { filesBelow } from "./files.ts";

/** The model cannot be had or is not a model: the attempt fails with this class, not as a harness error. */
export class ModelUnreadable extends Error {
  override name = "ModelUnreadable";
  constructor(message: string) {
    super(`model unreadable: ${message}`);
  }
}

export function parseS3Location(uri: string): { bucket: string; key: string } {
  const location = parseS3Uri(uri);
  if (!location) throw new ModelUnreadable(`not an s3:// location: ${uri}`);
  return location;
}

async function untar(body: Readable, dir: string): Promise<void> {
  const tar = spawn("tar", ["-xzf", "-", "-C", dir, "--no-same-owner"], {
    stdio: ["pipe", "ignore", "pipe"],
  });
  let stderr = "";
  tar.stderr?.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) => tar.once("close", resolve));
  await pipeline(body, tar.stdin).catch(() => undefined); // tar's own exit says what went wrong
  const code = await exited;
  if (code !== 0)
    throw new ModelUnreadable(`model.tar.gz could not be unpacked: ${stderr.trim().slice(0, 300)}`);
}

/** Download and check the model; returns the folder that holds its config.json. */
export async function fetchModel(s3: S3Client, uri: string, dir: string): Promise<string> {
  const { bucket, key } = parseS3Location(uri);
  await mkdir(dir, { recursive: true });
  try {
    if (isModelArchive(key)) {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      await untar(out.Body as Readable, dir);
    } else {
      const prefix = folderPrefix(key);
      let count = 0;
      for await (const page of paginateListObjectsV2({ client: s3 }, { Bucket: bucket, Prefix: prefix })) {
        for (const object of page.Contents ?? []) {
          if (!object.Key || object.Key.endsWith("/")) continue;
          const path = join(dir, relative(prefix, object.Key));
          await mkdir(dirname(path), { recursive: true });
          const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
          await pipeline(out.Body as Readable, createWriteStream(path));
          count++;
        }
      }
      if (!count) throw new ModelUnreadable(`no objects under ${uri}`);
    }
  } catch (error) {
    if (error instanceof ModelUnreadable) throw error;
    const e = error as { name?: string; message?: string };
    throw new ModelUnreadable(`cannot read ${uri}: ${e.name ?? "Error"}: ${e.message ?? ""}`.trim());
  }
  const files = (await filesBelow(dir)).map((f) => relative(dir, f));
  const found = modelFolder(files);
  if ("missing" in found) throw new ModelUnreadable(`${uri} holds ${found.missing}`);
  return join(dir, found.folder);
}
