// Content negotiation: ?format= first, then Accept with its q-values, JSON by default.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { negotiate } from "../../core/formats.ts";

describe("negotiate", () => {
  it("honours q-values: JSON at q=1 beats CSV at q=0.1", () => {
    assert.equal(negotiate(undefined, "application/json, text/csv;q=0.1"), "json");
    assert.equal(negotiate(undefined, "text/csv;q=0.1, application/json"), "json");
    assert.equal(negotiate(undefined, "application/json;q=0.2, text/csv;q=0.9"), "csv");
  });

  it("refuses a type given q=0 and ranks wildcards below named types", () => {
    assert.equal(negotiate(undefined, "text/csv;q=0, */*;q=0.5"), "json");
    assert.equal(negotiate(undefined, "text/*, application/json;q=0.5"), "csv");
    assert.equal(negotiate(undefined, "text/markdown, text/*;q=0.2"), "markdown");
  });

  it("answers JSON without an Accept header, for */*, or when nothing offered is acceptable", () => {
    assert.equal(negotiate(undefined, undefined), "json");
    assert.equal(negotiate(undefined, "*/*"), "json");
    assert.equal(negotiate(undefined, "image/png"), "json");
  });

  it("lets ?format= win over the header", () => {
    assert.equal(negotiate("markdown", "text/csv"), "markdown");
    assert.equal(negotiate("csv", "application/json"), "csv");
  });
});
