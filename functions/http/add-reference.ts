// POST /references: keep a harness results file (and its samples) as a reference for parity checks.
import { apiRoutes } from "../../core/routes.ts";
import { json, route } from "../middleware.ts";
import { referenceStore } from "../runtime.ts";

export const handler = route(
  // Results files with their samples are larger than a request body: up to 5 MB, within Lambda's 6 MB.
  { ...apiRoutes.addReference, maxBodyBytes: 5 * 1024 * 1024 },
  async ({ body }) => {
    const reference = await referenceStore().add(body);
    return json(201, reference, { location: `/references/${reference.referenceId}` });
  },
);
