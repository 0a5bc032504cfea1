// The engine's large files go to S3 in parts and come back streamed: against s3rver, a file above the
// part size is uploaded as a multipart upload (the SDK's commands, recorded from outside the product)
// and downloaded byte for byte; a file below it is one PUT.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CreateBucketCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver from "s3rver";
import { Artifacts } from "../../core/artifacts.ts";
import { downloadFile, uploadFile } from "../../engine/s3-files.ts";

let dir: string;
let server: S3rver;
let s3: S3Client;
const sent: string[] = [];
const MiB = 2 ** 20;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "spoteval-s3-files-"));
  server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory: join(dir, "s3") });
  const { port } = await server.run();
  s3 = new S3Client({
    region: "us-east-1",
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });
  s3.middlewareStack.add(
    (next, context) => (args) => {
      sent.push(context.commandName as string);
      return next(args);
    },
    { step: "initialize", name: "recordCommands" },
  );
  await s3.send(new CreateBucketCommand({ Bucket: "artifacts" }));
});
after(async () => {
  s3.destroy();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe("engine files in S3", () => {
  it("uploads a file above the part size in parts and downloads it whole", async () => {
    const artifacts = new Artifacts(s3, "artifacts");
    const file = join(dir, "model.neff");
    const bytes = randomBytes(12 * MiB);
    await writeFile(file, bytes);
    sent.length = 0;
    await uploadFile(artifacts, "compiled/vllm-neuron/k/model.neff", file, { partBytes: 5 * MiB });
    assert.equal(sent.filter((c) => c === "CreateMultipartUploadCommand").length, 1);
    assert.equal(sent.filter((c) => c === "UploadPartCommand").length, 3, "12 MiB in 5 MiB parts");
    assert.equal(sent.filter((c) => c === "CompleteMultipartUploadCommand").length, 1);
    assert.ok(!sent.includes("PutObjectCommand"));
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: "artifacts", Key: "compiled/vllm-neuron/k/model.neff" }),
    );
    assert.equal(head.ContentLength, 12 * MiB);

    const back = join(dir, "restored", "nested", "model.neff");
    await downloadFile(artifacts, "compiled/vllm-neuron/k/model.neff", back);
    assert.ok((await readFile(back)).equals(bytes), "the same bytes came back");
  });

  it("uploads a small file with one PUT", async () => {
    const file = join(dir, "config.json");
    await writeFile(file, '{"tp_degree": 2}');
    sent.length = 0;
    await uploadFile(new Artifacts(s3, "artifacts"), "compiled/vllm-neuron/k/config.json", file);
    assert.deepEqual(sent, ["PutObjectCommand"]);
  });
});
