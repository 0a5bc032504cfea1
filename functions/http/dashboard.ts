// GET /, /assets/{file}, /favicon.ico: the dashboard's files (dashboard/, bundled). The page reads the
// JSON routes itself with the key its user gives it, so these routes need none.
import { assets } from "../../dashboard/assets.generated.ts";
import { type HttpResult, problem, publicRoute } from "../middleware.ts";

/** Nothing from outside the API's own origin: scripts, styles, fetches, images, frames, form targets. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export const handler = publicRoute(async (event): Promise<HttpResult> => {
  const asset = assets[event.rawPath];
  if (!asset) return problem(404, "NotFound", `no dashboard file ${event.rawPath}`);
  return {
    statusCode: 200,
    headers: {
      "content-type": asset.contentType,
      "content-security-policy": CONTENT_SECURITY_POLICY,
      "x-content-type-options": "nosniff",
      "referrer-policy": "no-referrer",
      // Assets are named by their content; the page is re-read so it always names the current ones.
      "cache-control": asset.immutable ? "public, max-age=31536000, immutable" : "no-cache",
    },
    body: asset.body,
    isBase64Encoded: asset.base64,
  };
});
