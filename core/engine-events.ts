// The one event the engine puts on the default bus: its attempt ended (finished, failed or
// interrupted). Its content is only where to look: the rule's Lambda reads the attempt from DynamoDB.
export const ENGINE_EVENT_SOURCE = "spoteval.engine";
export const ENGINE_FINISHED = "EngineFinished";

export const engineFinishedEntry = (runId: string, attempt: number, status: string) => ({
  Source: ENGINE_EVENT_SOURCE,
  DetailType: ENGINE_FINISHED,
  Detail: JSON.stringify({ runId, attempt, status }),
});
