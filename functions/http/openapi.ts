// GET /openapi.json: the API's OpenAPI document, generated from the zod schemas.
import { openApiDocument } from "../../core/openapi.ts";
import { json, publicRoute } from "../middleware.ts";

const document = openApiDocument();
export const handler = publicRoute(async () => json(200, document));
