// Callback targets that could be turned inward are refused, whatever form the address takes and
// whatever a hostname resolves to; the allowlist is the only way past, by name.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CallbackPolicy,
  CallbackRefused,
  checkCallbackTarget,
  forbiddenRange,
} from "../../core/callback-target.ts";

/** A resolver for made-up names, as DNS would answer them. */
const dns: Record<string, string[]> = {
  "hooks.example.com": ["93.184.216.34"],
  "v6.example.com": ["2606:2800:220:1::1"],
  "metadata.example.com": ["169.254.169.254"],
  "mixed.example.com": ["93.184.216.34", "10.1.2.3"],
  "mapped.example.com": ["::ffff:127.0.0.1"],
  "receiver.internal": ["10.0.5.5"],
};
const resolve = async (host: string) => {
  const found = dns[host];
  if (!found) throw new Error(`ENOTFOUND ${host}`);
  return found;
};
const aws: CallbackPolicy = { schemes: ["https"], allowedHosts: [], resolve };
const local: CallbackPolicy = { schemes: ["https", "http"], allowedHosts: [], resolve };

describe("callback targets", () => {
  const hostile: [string, RegExp][] = [
    ["http://127.0.0.1/hook", /loopback/],
    ["http://127.1/", /loopback/],
    ["http://2130706433/", /loopback/],
    ["http://0177.0.0.1/", /loopback/],
    ["http://0x7f.0.0.1/", /loopback/],
    ["http://0x7f000001/", /loopback/],
    ["http://[::1]/", /loopback/],
    ["http://[::ffff:127.0.0.1]/", /loopback/],
    ["http://[0:0:0:0:0:ffff:7f00:1]/", /loopback/],
    ["http://169.254.169.254/latest/meta-data/iam/", /link-local/],
    ["http://2852039166/latest/meta-data/", /link-local/],
    ["http://[::ffff:a9fe:a9fe]/", /link-local/],
    ["http://[fe80::1]/", /link-local/],
    ["http://10.0.0.1/", /private/],
    ["http://172.16.0.1/", /private/],
    ["http://172.31.255.255/", /private/],
    ["http://192.168.1.1/", /private/],
    ["http://[fd00::1]/", /private/],
    ["http://[fc00::1]/", /private/],
    ["http://100.64.0.1/", /carrier-grade NAT/],
    ["http://224.0.0.1/", /multicast/],
    ["http://[ff02::1]/", /multicast/],
    ["http://0.0.0.0/", /unspecified/],
    ["http://[::]/", /unspecified/],
    ["http://metadata.example.com/", /resolves to 169\.254\.169\.254.*link-local/],
    ["http://mixed.example.com/", /resolves to 10\.1\.2\.3.*private/],
    ["http://mapped.example.com/", /loopback/],
    ["http://nowhere.example.com/", /does not resolve/],
    ["http://user:secret@hooks.example.com/", /credentials/],
    ["ftp://hooks.example.com/", /http/],
  ];
  for (const [url, why] of hostile) {
    it(`refuses ${url}`, async () => {
      await assert.rejects(
        checkCallbackTarget(url, local),
        (e: Error) => e instanceof CallbackRefused && why.test(e.message),
      );
    });
  }

  it("accepts public hosts and addresses, and returns every address the name resolved to", async () => {
    assert.deepEqual((await checkCallbackTarget("https://hooks.example.com/x", aws)).addresses, [
      "93.184.216.34",
    ]);
    assert.deepEqual((await checkCallbackTarget("https://v6.example.com/x", aws)).addresses, [
      "2606:2800:220:1::1",
    ]);
    assert.deepEqual((await checkCallbackTarget("https://93.184.216.34:8443/x", aws)).addresses, [
      "93.184.216.34",
    ]);
    assert.equal(forbiddenRange("172.32.0.1"), undefined, "just outside 172.16/12");
    assert.equal(forbiddenRange("100.128.0.1"), undefined, "just outside 100.64/10");
  });

  it("allows only https in AWS, http too on the local stack", async () => {
    await assert.rejects(checkCallbackTarget("http://hooks.example.com/x", aws), /must use https, not http/);
    await checkCallbackTarget("http://hooks.example.com/x", local);
  });

  it("lets a host past the address check only when the allowlist names it", async () => {
    const allow: CallbackPolicy = {
      ...aws,
      schemes: ["https", "http"],
      allowedHosts: ["receiver.internal", "127.0.0.1"],
    };
    assert.deepEqual((await checkCallbackTarget("https://receiver.internal/x", allow)).addresses, [
      "10.0.5.5",
    ]);
    await checkCallbackTarget("http://127.0.0.1:9000/x", allow);
    // The allowlist is by name: another spelling of the same address is not on it.
    await assert.rejects(
      checkCallbackTarget("http://2130706433:9000/x", { ...allow, allowedHosts: ["localhost"] }),
      /loopback/,
    );
    await assert.rejects(checkCallbackTarget("http://10.0.5.5/x", allow), /private/);
  });
});
