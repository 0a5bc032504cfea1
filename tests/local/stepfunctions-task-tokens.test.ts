// The local Step Functions runs Lambda callback tasks (.waitForTaskToken) and answers SendTaskSuccess,
// SendTaskFailure and SendTaskHeartbeat over the JSON API with AWS's own errors, through @aws-sdk/client-sfn.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  DescribeExecutionCommand,
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from "@aws-sdk/client-sfn";
import type { StateMachineDefinition } from "aws-local-stepfunctions";
import { functionForResource } from "../../local/serverless-config.ts";
import { CALLBACK_RESOURCE, LocalStepFunctions } from "../../local/stepfunctions.ts";
import { localSfn, waitFor } from "../support/stack.ts";

const definition = {
  StartAt: "WaitForEvent",
  States: {
    WaitForEvent: {
      Type: "Task",
      Resource: CALLBACK_RESOURCE,
      Parameters: {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: an ASL placeholder, as in evaluation.asl.json
        FunctionName: "${NotifyFunctionArn}",
        Payload: { "id.$": "$.id", "taskToken.$": "$$.Task.Token" },
      },
      TimeoutSecondsPath: "$.timeoutSeconds",
      HeartbeatSecondsPath: "$.heartbeatSeconds",
      ResultPath: "$.answer",
      Catch: [
        { ErrorEquals: ["States.Timeout"], ResultPath: "$.error", Next: "TimedOut" },
        { ErrorEquals: ["States.HeartbeatTimeout"], ResultPath: "$.error", Next: "NoHeartbeat" },
        { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "Failed" },
      ],
      Next: "Answered",
    },
    Answered: { Type: "Pass", End: true },
    TimedOut: { Type: "Pass", End: true },
    NoHeartbeat: { Type: "Pass", End: true },
    Failed: { Type: "Pass", End: true },
  },
} as unknown as StateMachineDefinition;

/** What the notified Lambda received, by the id in its input. */
const received = new Map<string, { id: string; taskToken: string }>();
const local = new LocalStepFunctions();
let sfn: SFNClient;
let arn: string;

before(async () => {
  arn = local.register({
    name: "tokens",
    definition,
    functionForResource,
    handlers: {
      notify: async (payload) => {
        const p = payload as { id: string; taskToken: string };
        received.set(p.id, p);
        return { ignored: "a callback task's result comes from its token, not its Lambda" };
      },
    },
  });
  sfn = localSfn(await local.listen(0));
});
after(async () => {
  sfn.destroy();
  await local.close();
});

let n = 0;
async function start(timeoutSeconds = 30, heartbeatSeconds = 20) {
  const id = `e${++n}`;
  const e = local.startExecution(arn, id, JSON.stringify({ id, timeoutSeconds, heartbeatSeconds }));
  const { taskToken } = await waitFor("the Lambda to get its token", async () => received.get(id));
  return { executionArn: e.executionArn, taskToken };
}

async function ended(executionArn: string) {
  const out = await waitFor("the execution to end", async () => {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return d.status === "RUNNING" ? undefined : d;
  });
  assert.equal(out.status, "SUCCEEDED");
  const history = local.mustGet(executionArn).history;
  const last = history.findLast((e) => e.type === "PassStateEntered");
  return {
    state: (last?.stateEnteredEventDetails as { name?: string } | undefined)?.name,
    output: JSON.parse(out.output ?? "{}"),
    history,
  };
}

describe("local Step Functions: waitForTaskToken", () => {
  it("gives the Lambda a token in place of $$.Task.Token, and SendTaskSuccess resumes with its output", async () => {
    const { executionArn, taskToken } = await start();
    assert.match(taskToken, /^AQ[A-Za-z0-9_-]{86}$/);
    assert.equal(local.mustGet(executionArn).status, "RUNNING", "waits for the token, not the Lambda");
    await sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify({ woken: "engine" }) }));
    const { state, output } = await ended(executionArn);
    assert.equal(state, "Answered");
    assert.deepEqual(output.answer, { woken: "engine" });
  });

  it("fails the task with SendTaskFailure's error and cause", async () => {
    const { executionArn, taskToken } = await start();
    await sfn.send(new SendTaskFailureCommand({ taskToken, error: "EngineGone", cause: "no instance" }));
    const { state, output } = await ended(executionArn);
    assert.equal(state, "Failed");
    assert.deepEqual(output.error, { Error: "EngineGone", Cause: "no instance" });
  });

  it("times out with States.Timeout after TimeoutSecondsPath, and the token is then TaskTimedOut", async () => {
    const { executionArn, taskToken } = await start(1);
    const { state, output, history } = await ended(executionArn);
    assert.equal(state, "TimedOut");
    assert.equal(output.error.Error, "States.Timeout");
    assert.ok(history.some((e) => e.type === "TaskTimedOut"));
    await assert.rejects(
      sfn.send(new SendTaskSuccessCommand({ taskToken, output: "{}" })),
      TaskTimedOut,
      "a token whose task ended",
    );
  });

  it("keeps a task alive while heartbeats arrive, and fails it with States.HeartbeatTimeout when they stop", async () => {
    const { executionArn, taskToken } = await start(60, 1);
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      await sfn.send(new SendTaskHeartbeatCommand({ taskToken }));
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(local.mustGet(executionArn).status, "RUNNING", "2.5 s of heartbeats outlive a 1 s limit");
    const { state, output } = await ended(executionArn);
    assert.equal(state, "NoHeartbeat");
    assert.equal(output.error.Error, "States.HeartbeatTimeout");
  });

  it("answers a token it never issued with TaskDoesNotExist, and a malformed one with InvalidToken", async () => {
    const unknown = `AQ${"x".repeat(86)}`;
    await assert.rejects(
      sfn.send(new SendTaskSuccessCommand({ taskToken: unknown, output: "{}" })),
      TaskDoesNotExist,
    );
    await assert.rejects(sfn.send(new SendTaskHeartbeatCommand({ taskToken: unknown })), TaskDoesNotExist);
    await assert.rejects(
      sfn.send(new SendTaskFailureCommand({ taskToken: "not-a-token", error: "X" })),
      InvalidToken,
    );
  });

  it("answers a second SendTaskSuccess for the same token with TaskTimedOut, as AWS does", async () => {
    const { executionArn, taskToken } = await start();
    await sfn.send(new SendTaskSuccessCommand({ taskToken, output: "{}" }));
    await ended(executionArn);
    await assert.rejects(sfn.send(new SendTaskSuccessCommand({ taskToken, output: "{}" })), TaskTimedOut);
  });
});
