// Deployed, the API key hashes come from an SSM SecureString (mocked at the SDK boundary), are re-read
// every 5 minutes, and a failed read is retried on the next request rather than cached.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { hashKey } from "../../core/auth.ts";

Object.assign(process.env, {
  SPOTEVAL_TABLE: "t",
  SPOTEVAL_BUCKET: "b",
  API_KEYS_PARAMETER: "/spoteval/test/api-keys",
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "x",
  AWS_SECRET_ACCESS_KEY: "x",
});
const { apiKeys } = await import("../../functions/runtime.ts");
const ssm = mockClient(SSMClient);
afterEach(() => ssm.reset());

describe("API keys from SSM", () => {
  it("reads the hashes with decryption, and retries after a failed read", async () => {
    ssm
      .on(GetParameterCommand)
      .rejectsOnce(new Error("throttled"))
      .resolves({
        Parameter: { Value: `${hashKey("se_rw")}:rw,${hashKey("se_ro")}:ro` },
      });
    await assert.rejects(apiKeys(), /throttled/);
    const keys = await apiKeys();
    assert.deepEqual(keys, [
      { hash: hashKey("se_rw"), access: "write" },
      { hash: hashKey("se_ro"), access: "read" },
    ]);
    const input = ssm.commandCalls(GetParameterCommand).at(-1)?.args[0].input;
    assert.deepEqual(input, { Name: "/spoteval/test/api-keys", WithDecryption: true });
    await apiKeys();
    assert.equal(ssm.commandCalls(GetParameterCommand).length, 2, "cached after a good read");
  });
});
