// Opaque cursors for every list route: where the previous page stopped, base64url JSON that the API
// hands out and takes back. Clients never build one; a cursor that does not parse is a 400.
import * as z from "zod/mini";
import { InvalidRequest } from "./errors.ts";

/** A page is at most this many items on every list route (and 20 when the request does not say). */
export const MAX_PAGE = 100;
export const pageLimit = (fallback = 20) =>
  z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(MAX_PAGE)), fallback);
export const cursorParam = z.optional(z.string().check(z.maxLength(2048), z.regex(/^[A-Za-z0-9_-]+$/)));

export const encodeCursor = (position: unknown): string =>
  Buffer.from(JSON.stringify(position)).toString("base64url");

export function decodeCursor<S extends z.ZodMiniType>(cursor: string, schema: S): z.output<S> {
  try {
    return schema.parse(JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")));
  } catch {
    throw new InvalidRequest("the cursor is not one this API returned");
  }
}
