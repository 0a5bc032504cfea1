// The one ASL file: valid as it stands, uses only what runs in AWS and locally, and no path from any
// state reaches an end without passing through ReleaseCapacity: not a shard's (each Map iteration
// releases its own), not the run's.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import aslValidator from "asl-validator";
import { functionForResource, readServerlessConfig } from "../../local/serverless-config.ts";
import { projectRoot } from "../../local/stack.ts";
import { CALLBACK_RESOURCE, everyState } from "../../local/stepfunctions.ts";

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
  End?: boolean;
  ItemProcessor?: Machine;
  MaxConcurrencyPath?: string;
  ItemsPath?: string;
};
type Machine = { StartAt: string; States: Record<string, State> };
const definition = JSON.parse(
  readFileSync(`${projectRoot}/statemachine/evaluation.asl.json`, "utf8"),
) as Machine;
/** Every state, the Map iteration's included (names are unique across both: see below). */
const states = Object.fromEntries(everyState(definition as never)) as unknown as Record<string, State>;
const iteration = definition.States.Shards.ItemProcessor as Machine;
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

  it("has unique state names at every depth, and puts every catch-all retrier last", () => {
    const names = everyState(definition as never).map(([name]) => name);
    assert.deepEqual(names, [...new Set(names)], "aws-local-stepfunctions finds handlers by state name");
    for (const [name, s] of Object.entries(states)) {
      const at = (s.Retry ?? []).findIndex((r) => r.ErrorEquals.includes("States.ALL"));
      // AWS rejects a definition whose States.ALL retrier is not alone and last.
      if (at >= 0) assert.equal(at, (s.Retry ?? []).length - 1, `${name}: States.ALL retrier last`);
    }
  });

  /** Every state reachable from `start` without passing through a release (or a state that implies one). */
  const reachableAvoiding = (machine: Machine, start: string, releases: (name: string) => boolean) => {
    const reachable = new Set<string>();
    const stack = [start];
    while (stack.length) {
      const name = stack.pop() as string;
      if (reachable.has(name) || releases(name)) continue;
      reachable.add(name);
      stack.push(...next(machine.States[name]));
    }
    return reachable;
  };

  it("ends no shard, failed, cancelled or finished, without passing through ReleaseCapacity", () => {
    const reachable = reachableAvoiding(iteration, iteration.StartAt, isRelease);
    const endings = Object.keys(iteration.States).filter((n) => iteration.States[n].End);
    assert.ok(endings.length >= 4, "finished, cancelled, failed and an unrecorded end");
    for (const end of endings) assert.ok(!reachable.has(end), `${end} is reachable without a release`);
    assert.ok(
      reachable.has("CheckEngine") && reachable.has("AcquireCapacity"),
      "the search covers the running states",
    );
  });

  it("ends no run, failed, cancelled or succeeded, without every shard or the run itself released", () => {
    // The Map completes only once every iteration has ended, each through its release (above); its
    // failure is caught into the run's release.
    const reachable = reachableAvoiding(
      definition,
      definition.StartAt,
      (name) => isRelease(name) || definition.States[name]?.Type === "Map",
    );
    const endings = Object.keys(definition.States).filter((n) =>
      ["Fail", "Succeed"].includes(definition.States[n].Type),
    );
    assert.ok(endings.length >= 3);
    for (const end of [...endings, "RecordFailure", "RecordSuccess", "RecordCancelled"]) {
      assert.ok(!reachable.has(end), `${end} is reachable without a release`);
    }
    assert.deepEqual(
      definition.States.Shards.Catch?.map((c) => [c.ErrorEquals, c.Next]),
      [[["States.ALL"], "ReleaseOnError"]],
    );
  });

  it("runs every shard at once in an inline Map whose iterations catch their own failures", () => {
    const map = definition.States.Shards;
    assert.equal(map.Type, "Map");
    assert.equal(map.ItemsPath, "$.plan.shards");
    assert.equal(map.MaxConcurrencyPath, "$.plan.shardCount", "MaxConcurrency = the shard count");
    // A failed iteration of an inline Map would stop its siblings and skip their release: none fails.
    for (const [name, s] of Object.entries(iteration.States)) {
      if (s.Type === "Fail") assert.fail(`${name}: an iteration never fails`);
      for (const to of next(s)) assert.ok(iteration.States[to], `${name} -> ${to} stays in the iteration`);
    }
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
