// References users upload (POST /references, `spoteval reference add`): a harness results file,
// e.g. their GPU run, with its samples when logged. The files stay in S3 under references/<id>/;
// one item per reference under its model, so a run's parity finds the model's references in one query.
import { type DynamoDBDocumentClient, PutCommand, paginateQuery } from "@aws-sdk/lib-dynamodb";
import type { Artifacts } from "./artifacts.ts";
import { InvalidRequest } from "./errors.ts";
import { newRunId } from "./ids.ts";
import type { Measurement } from "./parity.ts";
import { measurementsOf, modelOf } from "./references.ts";
import { filtersOf, parseResults, uniqueRows } from "./results.ts";
import type { ReferenceSource } from "./run-parity.ts";
import { readSamples, type SamplesFile } from "./samples.ts";

export type UploadedReference = {
  referenceId: string;
  label: string;
  model: string;
  createdAt: string;
  tasks: string[];
  samplesTasks: string[];
};

const keys = {
  results: (id: string) => `references/${id}/results.json`,
  samples: (id: string, task: string) => `references/${id}/samples_${task}.jsonl`,
};

export class ReferenceStore implements ReferenceSource {
  readonly db: DynamoDBDocumentClient;
  readonly table: string;
  readonly artifacts: Artifacts;
  constructor(db: DynamoDBDocumentClient, table: string, artifacts: Artifacts) {
    this.db = db;
    this.table = table;
    this.artifacts = artifacts;
  }

  /** Keep a results file (and its samples, per task) as a reference for its model. */
  async add(input: {
    label: string;
    results: unknown;
    samples?: Record<string, string>;
    model?: string;
  }): Promise<UploadedReference & { metrics: number }> {
    const text = JSON.stringify(input.results);
    const file = parseResults(text);
    const model = input.model ?? modelOf(file).model;
    if (!model) throw new InvalidRequest("name the model: the results file's model_args do not");
    const tasks = Object.keys(file.results);
    for (const [task, samples] of Object.entries(input.samples ?? {})) {
      if (!tasks.includes(task))
        throw new InvalidRequest(`samples for ${task}, which the results file does not have`);
      readSamples(samples, { filters: filtersOf(file, task) }); // refuse what cannot be read, now
    }
    const reference: UploadedReference = {
      referenceId: newRunId(),
      label: input.label,
      model,
      createdAt: new Date().toISOString(),
      tasks,
      samplesTasks: Object.keys(input.samples ?? {}),
    };
    await this.artifacts.putText(keys.results(reference.referenceId), text);
    for (const [task, samples] of Object.entries(input.samples ?? {}))
      await this.artifacts.putText(keys.samples(reference.referenceId, task), samples, "application/jsonl");
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          PK: `REFERENCES#${model}`,
          SK: `REFERENCE#${reference.referenceId}`,
          kind: "reference",
          ...reference,
        },
      }),
    );
    return { ...reference, metrics: uniqueRows(file).length };
  }

  async list(model: string): Promise<UploadedReference[]> {
    const out: UploadedReference[] = [];
    const pages = paginateQuery(
      { client: this.db },
      {
        TableName: this.table,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :sk)",
        ExpressionAttributeValues: { ":pk": `REFERENCES#${model}`, ":sk": "REFERENCE#" },
      },
    );
    for await (const page of pages)
      for (const { PK, SK, kind, ...item } of page.Items ?? []) out.push(item as UploadedReference);
    return out;
  }

  /** Every uploaded reference of a model as measurements, newest first, with their samples. */
  async referencesFor(model: string): Promise<Measurement[]> {
    const out: Measurement[] = [];
    const references = (await this.list(model)).sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    for (const ref of references) {
      const file = parseResults(await this.artifacts.getText(keys.results(ref.referenceId)));
      const samples = new Map<string, SamplesFile>();
      for (const task of ref.samplesTasks) {
        const text = await this.artifacts.getText(keys.samples(ref.referenceId, task));
        samples.set(task, readSamples(text, { filters: filtersOf(file, task) }));
      }
      out.push(
        ...measurementsOf(
          file,
          { source: `uploaded reference "${ref.label}" (${ref.referenceId})`, model },
          samples,
        ),
      );
    }
    return out;
  }
}
