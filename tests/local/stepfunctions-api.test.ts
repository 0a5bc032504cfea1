// The local Step Functions speaks the service's JSON API: @aws-sdk/client-sfn works against it unchanged.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  StartExecutionCommand,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { LocalProcessProvider } from "../../core/capacity/local-process.ts";
import { executionArnOf, sampleRequest, testStack, waitFor } from "../support/stack.ts";

const stack = await testStack({ simulatedSeconds: 30 });
const sfn = stack.sfn;
after(() => stack.stop());

describe("local Step Functions API", () => {
  it("lists the state machine, describes, lists, and pages the history of an execution", async () => {
    const machines = await sfn.send(new ListStateMachinesCommand({}));
    assert.deepEqual(
      machines.stateMachines?.map((m) => m.stateMachineArn),
      [stack.stateMachineArn],
    );

    const { body } = await stack.api("/evaluations", { method: "POST", json: sampleRequest("org/sfn-api") });
    const runId = body.runId as string;
    const executionArn = executionArnOf(stack, runId);
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    assert.equal(described.name, runId);
    assert.deepEqual(JSON.parse(described.input ?? ""), { runId, maxAttempts: 3, capacity: { attempt: 0 } });
    assert.ok(described.startDate instanceof Date);

    const listed = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: stack.stateMachineArn, statusFilter: "RUNNING" }),
    );
    assert.ok(listed.executions?.some((e) => e.executionArn === executionArn));

    const history = await waitFor("CheckEngine in the history", async () => {
      const h = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
      return h.events?.some((e) => e.stateEnteredEventDetails?.name === "CheckEngine") ? h : undefined;
    });
    assert.equal(history.events?.[0].type, "ExecutionStarted");
    const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 2 }));
    assert.equal(page.events?.length, 2);
    assert.ok(page.nextToken);

    // Same name and input again: idempotent, as in AWS; another input: ExecutionAlreadyExists.
    const again = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stack.stateMachineArn,
        name: runId,
        input: described.input,
      }),
    );
    assert.equal(again.executionArn, executionArn);
    await assert.rejects(
      sfn.send(
        new StartExecutionCommand({ stateMachineArn: stack.stateMachineArn, name: runId, input: "{}" }),
      ),
      ExecutionAlreadyExists,
    );

    // Stopping an execution skips its ReleaseCapacity: that is why cancelling never stops it directly.
    await sfn.send(new StopExecutionCommand({ executionArn, error: "Test", cause: "stopped by test" }));
    const stopped = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    assert.equal(stopped.status, "ABORTED");
    await LocalProcessProvider.releaseEverything();
  });

  it("answers an unknown execution with the service's own error", async () => {
    await assert.rejects(
      sfn.send(
        new DescribeExecutionCommand({
          executionArn: `${stack.stateMachineArn.replace(":stateMachine:", ":execution:")}:nope`,
        }),
      ),
      ExecutionDoesNotExist,
    );
  });
});
