// The one ASL file: valid as it stands, uses only what runs in AWS and locally, and no path from any
// state reaches the Fail state without passing through ReleaseCapacity.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import aslValidator from "asl-validator";
import { functionForResource, readServerlessConfig } from "../../local/serverless-config.ts";
import { projectRoot } from "../../local/stack.ts";
import { CALLBACK_RESOURCE } from "../../local/stepfunctions.ts";

type State = {
  Type: string;
  Resource?: string;
  Next?: string;
  Default?: string;
  Choices?: { Next: string }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  Retry?: { ErrorEquals: string[] }[];
  Parameters?: Record<string, unknown>;
  TimeoutSecondsPath?: string;
};
const definition = JSON.parse(readFileSync(`${projectRoot}/statemachine/evaluation.asl.json`, "utf8")) as {
  StartAt: string;
  States: Record<string, State>;
};
const states = definition.States;
const next = (s: State) =>
  [s.Next, s.Default, ...(s.Choices ?? []).map((c) => c.Next), ...(s.Catch ?? []).map((c) => c.Next)].filter(
    Boolean,
  ) as string[];
/** The serverless function a Task invokes: its Resource, or the FunctionName of a callback task. */
const functionOf = (s: State) =>
  functionForResource(
    s.Resource === CALLBACK_RESOURCE ? String(s.Parameters?.FunctionName ?? "") : (s.Resource ?? ""),
  );
const isRelease = (name: string) => functionOf(states[name]) === "releaseCapacity";

describe("statemachine/evaluation.asl.json", () => {
  it("is valid ASL as it stands", () => {
    const { isValid, errorsText } = aslValidator(definition as never);
    assert.ok(isValid, errorsText());
  });

  it("names only functions that serverless.yml declares", () => {
    const { functions } = readServerlessConfig(projectRoot);
    for (const [name, s] of Object.entries(states)) {
      if (s.Type !== "Task") continue;
      const fn = functionOf(s);
      assert.ok(fn && functions[fn], `${name} -> ${s.Resource}`);
    }
  });

  it("uses only features that run both in AWS and under aws-local-stepfunctions, plus the one callback task", () => {
    const text = JSON.stringify(definition);
    for (const banned of ["JSONata", "Arguments", "Assign", "Credentials", ".sync", "ItemReader"]) {
      assert.ok(!text.includes(banned), banned);
    }
    const integrations = Object.values(states)
      .map((s) => s.Resource ?? "")
      .filter((r) => r.startsWith("arn:aws:states:::"));
    assert.deepEqual([...new Set(integrations)], [CALLBACK_RESOURCE], "no other service integration");
  });

  it("waits between polls on a task token, timed out by the poll interval, and polls on any outcome", () => {
    for (const [name, timeout] of [
      ["WaitForBoot", "$.capacity.waitSeconds"],
      ["WaitForEngine", "$.engine.waitSeconds"],
    ]) {
      const s = states[name];
      assert.equal(s.Resource, CALLBACK_RESOURCE, name);
      assert.equal(functionOf(s), "awaitEvent");
      assert.equal(
        (s.Parameters?.Payload as Record<string, string> | undefined)?.["taskToken.$"],
        "$$.Task.Token",
      );
      assert.equal(s.TimeoutSecondsPath, timeout);
      assert.equal(s.Next, "CheckEngine");
      assert.deepEqual(
        s.Catch?.map((c) => [c.ErrorEquals, c.Next]),
        [[["States.ALL"], "CheckEngine"]],
        "a timeout, a lost token or a failed Lambda all end in the same poll",
      );
    }
  });

  it("catches every error of every task that is not itself the release or the final record", () => {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type !== "Task") continue;
      assert.ok(
        s.Catch?.some((c) => c.ErrorEquals.includes("States.ALL")),
        `${name} has a States.ALL catch`,
      );
    }
  });

  it("ends no path, failed, cancelled or succeeded, without passing through ReleaseCapacity", () => {
    // Every state reachable from the start while avoiding the release tasks:
    const reachable = new Set<string>();
    const stack = [definition.StartAt];
    while (stack.length) {
      const name = stack.pop() as string;
      if (reachable.has(name) || isRelease(name)) continue;
      reachable.add(name);
      stack.push(...next(states[name]));
    }
    const endings = Object.keys(states).filter((n) => ["Fail", "Succeed"].includes(states[n].Type));
    assert.ok(endings.length >= 3);
    for (const end of [...endings, "RecordFailure", "RecordSuccess", "RecordCancelled"]) {
      assert.ok(!reachable.has(end), `${end} is reachable without a release`);
    }
    assert.ok(
      reachable.has("CheckEngine") && reachable.has("AcquireCapacity"),
      "the search covers the running states",
    );
  });

  it("sends interruptions back to AcquireCapacity, bounded by maxAttempts", () => {
    const choice = states.EngineState.Choices?.find(
      (c) => (c as { StringEquals?: string }).StringEquals === "interrupted",
    );
    assert.equal(choice?.Next, "ReleaseInterrupted");
    assert.equal(states.ReleaseInterrupted.Next, "AttemptsLeft");
    const left = states.AttemptsLeft as State & {
      Choices: { NumericGreaterThanEqualsPath?: string; Next: string }[];
    };
    assert.equal(left.Choices[0].NumericGreaterThanEqualsPath, "$.maxAttempts");
    assert.equal(left.Default, "AcquireCapacity");
  });

  it("waits no longer than CheckEngine says, not a fixed interval", () => {
    assert.equal(states.WaitForEngine.TimeoutSecondsPath, "$.engine.waitSeconds");
  });
});
