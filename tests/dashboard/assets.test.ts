// The dashboard's files as the API serves them: the committed bundle is current, the page and its
// assets carry a Content-Security-Policy that allows only the API's origin, and /favicon.ico is an icon.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, describe, it } from "node:test";
import { hashKey } from "../../core/auth.ts";
import { finalStatuses, runStatuses } from "../../core/schemas.ts";
import * as page from "../../dashboard/format.ts";
import { buildDashboard, favicon, generatedModule, moduleSource } from "../../scripts/dashboard-bundle.ts";
import { testStack } from "../support/stack.ts";

const readOnly = "se_assets_read_only";
const stack = await testStack({
  apiKey: "se_assets_read_write",
  env: { API_KEY_HASHES: `${hashKey("se_assets_read_write")}:rw,${hashKey(readOnly)}:ro` },
});
after(() => stack.stop());
const get = (path: string) => fetch(`${stack.urls.API}${path}`);

describe("the dashboard's files", () => {
  it("are the bundle dashboard/ builds today (run `node scripts/dashboard-bundle.ts` after a change)", async () => {
    const committed = await readFile(generatedModule, "utf8");
    assert.ok(committed === moduleSource(await buildDashboard()), "dashboard/assets.generated.ts is stale");
  });

  it("serves the page at GET / with a policy that allows nothing outside the API's origin", async () => {
    const res = await get("/");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const csp = res.headers.get("content-security-policy") ?? "";
    const directives = Object.fromEntries(
      csp.split(";").map((d) => {
        const [name, ...sources] = d.trim().split(/\s+/);
        return [name, sources];
      }),
    );
    assert.deepEqual(directives["default-src"], ["'none'"]);
    for (const name of ["script-src", "style-src", "connect-src", "img-src"])
      assert.deepEqual(directives[name], ["'self'"], name);
    assert.deepEqual(directives["frame-ancestors"], ["'none'"]);
    assert.ok(
      Object.values(directives).every((sources) => sources.every((s) => s === "'self'" || s === "'none'")),
      `nothing but 'self' and 'none': ${csp}`,
    );
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");

    const html = await res.text();
    assert.doesNotMatch(html, /style=|<style|<script>/, "no inline style or script for the policy to block");
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/app-[0-9a-f]{12}\.(js|css))"/g)];
    assert.deepEqual(assets.map((a) => a[2]).sort(), ["css", "js"]);
    for (const [, path, ext] of assets) {
      const asset = await get(path);
      assert.equal(asset.status, 200, path);
      assert.match(
        asset.headers.get("content-type") ?? "",
        ext === "js" ? /^text\/javascript/ : /^text\/css/,
      );
      assert.match(asset.headers.get("cache-control") ?? "", /immutable/);
      assert.equal(asset.headers.get("content-security-policy"), csp);
    }
    assert.equal((await get("/assets/app-000000000000.js")).status, 404);
  });

  it("serves an icon at /favicon.ico, byte for byte", async () => {
    const res = await get("/favicon.ico");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "image/x-icon");
    const bytes = Buffer.from(await res.arrayBuffer());
    assert.deepEqual(bytes, favicon());
    assert.deepEqual([...bytes.subarray(0, 4)], [0, 0, 1, 0], "an ICO header");
    assert.equal(
      bytes.readUInt32LE(18) + bytes.readUInt32LE(14),
      bytes.length,
      "one image, to the last byte",
    );
  });

  it("knows the API's run statuses (the page keeps a copy, to leave zod out of its bundle)", () => {
    assert.deepEqual([...page.runStatuses], [...runStatuses]);
    assert.deepEqual(page.finalStatuses, [...finalStatuses]);
  });

  it("can tell a read-only key from a read-write one: every answer says which (Spoteval-Access)", async () => {
    const as = (key: string) =>
      fetch(`${stack.urls.API}/evaluations?limit=1`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal((await as(stack.apiKey)).headers.get("spoteval-access"), "write");
    assert.equal((await as(readOnly)).headers.get("spoteval-access"), "read");
    const refused = await fetch(`${stack.urls.API}/evaluations`, {
      method: "POST",
      headers: { authorization: `Bearer ${readOnly}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(refused.status, 403, "and the API, not the page, is what refuses a read-only key");
  });
});
