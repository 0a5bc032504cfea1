// The OpenAPI document documents exactly what each handler accepts: for every route serverless.yml
// serves with an API key, the parameters (name, where, required) of the document equal those of the
// zod schemas the handler itself parses with (the spec route() keeps on the handler).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import type * as z from "zod/mini";
import { openApiDocument } from "../../core/openapi.ts";
import type { RouteSpec } from "../../core/routes.ts";
import { readServerlessConfig } from "../../local/serverless-config.ts";
import { projectRoot } from "../../local/stack.ts";

type Operation = {
  parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[];
  requestBody?: unknown;
};
const doc = openApiDocument() as unknown as {
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
};
const config = readServerlessConfig(projectRoot);

/** What a handler's object schema accepts, read from the schema itself: each key, and whether it may be left out. */
function accepted(where: string, schema: z.ZodMiniObject | undefined) {
  if (!schema) return [];
  return Object.entries(schema.shape).map(([name, field]) => ({
    name: name.toLowerCase(),
    in: where,
    required: where === "path" || !(field as z.ZodMiniType).safeParse(undefined).success,
  }));
}
const sorted = <T extends { name: string; in: string }>(xs: T[]) =>
  [...xs].sort((a, b) => `${a.in}:${a.name}`.localeCompare(`${b.in}:${b.name}`));

const handlers = await Promise.all(
  config.routes.map(async (r) => {
    const module = (await import(config.functions[r.functionName].module)) as {
      handler: { spec?: RouteSpec };
    };
    return { ...r, spec: module.handler.spec };
  }),
);

describe("the OpenAPI document", () => {
  it("documents every API-key route serverless.yml serves, and no route it does not serve", () => {
    const served = handlers.filter((h) => h.spec).map((h) => `${h.method} ${h.path}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
    );
    for (const route of served) assert.ok(documented.includes(route), `${route} is documented`);
    for (const route of documented) {
      assert.ok(
        handlers.some((h) => `${h.method} ${h.path}` === route),
        `${route} is documented but serverless.yml serves no such route`,
      );
    }
    assert.ok(served.length >= 6, "the routes with specs were found");
  });

  for (const h of handlers) {
    if (!h.spec) continue;
    const spec = h.spec;
    it(`${h.method} ${h.path}: documents exactly the parameters its handler parses`, () => {
      const op = doc.paths[h.path]?.[h.method.toLowerCase()];
      assert.ok(op, "documented");
      const documented = (op.parameters ?? []).map((p) => ({
        name: p.name.toLowerCase(),
        in: p.in,
        required: p.required,
      }));
      const parsed = [
        ...accepted("path", spec.path),
        ...accepted("query", spec.query),
        ...accepted("header", spec.headers),
      ];
      assert.deepEqual(sorted(documented), sorted(parsed));
      const pathParams = [...h.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1].toLowerCase());
      assert.deepEqual(
        documented
          .filter((p) => p.in === "path")
          .map((p) => p.name)
          .sort(),
        pathParams.sort(),
        "the path's {parameters} are the path schema's keys",
      );
      assert.equal(
        Boolean(op.requestBody),
        Boolean(spec.body),
        "a request body exactly when the handler parses one",
      );
    });
  }

  it("bounds and documents limit on every list route", () => {
    for (const [path, method] of [
      ["/evaluations", "get"],
      ["/models/{modelId}/results", "get"],
      ["/leaderboard", "get"],
    ]) {
      const limit = doc.paths[path][method].parameters?.find((p) => p.name === "limit");
      assert.ok(limit, `${path} documents limit`);
      assert.equal(limit.schema.type, "integer", path);
      assert.equal(limit.schema.minimum, 1, path);
      assert.equal(limit.schema.maximum, 100, path);
      assert.equal(typeof limit.schema.default, "number", path);
    }
  });

  it("carries the version of package.json", () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot, "package.json"), "utf8")) as { version: string };
    assert.equal(doc.info.version, pkg.version);
  });
});
