// Files between the instance's disk and S3, streamed both ways: compiled artifacts and request caches
// run to gigabytes, more than one PUT may carry (5 GiB) and more than the engine should hold in memory
// on an inf2.xlarge (16 GiB). Uploads go in parts through the SDK's own Upload (@aws-sdk/lib-storage).
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { Artifacts } from "../core/artifacts.ts";

/** Part size: a file up to this size is one PUT, a larger one a multipart upload of such parts. */
export const PART_BYTES = 64 * 2 ** 20;
/** Parts in flight at once: 4 x 64 MiB in memory at most. */
const PARTS_IN_FLIGHT = 4;

export async function uploadFile(
  artifacts: Artifacts,
  key: string,
  path: string,
  options: { contentType?: string; partBytes?: number } = {},
): Promise<void> {
  const upload = new Upload({
    client: artifacts.s3,
    params: {
      Bucket: artifacts.bucket,
      Key: key,
      Body: createReadStream(path),
      ContentType: options.contentType ?? "application/octet-stream",
    },
    partSize: options.partBytes ?? PART_BYTES,
    queueSize: PARTS_IN_FLIGHT,
    // A failed upload aborts its multipart upload: no invisible parts left to pay for.
    leavePartsOnError: false,
  });
  await upload.done();
}

export async function downloadFile(artifacts: Artifacts, key: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const out = await artifacts.s3.send(new GetObjectCommand({ Bucket: artifacts.bucket, Key: key }));
  await pipeline(out.Body as Readable, createWriteStream(path));
}
