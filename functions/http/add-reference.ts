// POST /references: keep a harness results file (and its samples) as a reference for parity checks.
import * as z from "zod/mini";
import { modelIdSchema } from "../../core/schemas.ts";
import { json, route } from "../middleware.ts";
import { referenceStore } from "../runtime.ts";

const AddReference = z.strictObject({
  label: z.string().check(z.minLength(1), z.maxLength(128)),
  /** The results JSON as the harness wrote it. */
  results: z.looseObject({ results: z.record(z.string(), z.unknown()) }),
  /** Per task, its samples file's text (JSON Lines, or the 0.4.0-0.4.2 JSON array). */
  samples: z.optional(z.record(z.string(), z.string())),
  /** The model, when the file's model_args do not name it. */
  model: z.optional(modelIdSchema),
});

export const handler = route(
  { access: "write", body: AddReference, maxBodyBytes: 5 * 1024 * 1024 },
  async ({ body }) => {
    const reference = await referenceStore().add(body);
    return json(201, reference, { location: `/references/${reference.referenceId}` });
  },
);
