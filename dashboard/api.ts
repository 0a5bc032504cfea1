// The API, as the page reads it: the public JSON routes on the page's own origin, with the key the user
// gave kept in sessionStorage (never in a URL query: it would reach server logs and history).
const KEY = "spoteval.apiKey";

export type Access = "read" | "write";
export type Problem = {
  title?: string;
  status?: number;
  detail?: string;
  errors?: { path: string; message: string }[];
};

export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(status: number, problem: Problem) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export const session = {
  key: () => sessionStorage.getItem(KEY),
  signIn: (key: string) => sessionStorage.setItem(KEY, key.trim()),
  signOut: () => {
    sessionStorage.removeItem(KEY);
    session.access = undefined;
  },
  /** What the key may do, as the API reports it on every answer (`Spoteval-Access`). */
  access: undefined as Access | undefined,
  /** Called when the API refuses the key (401): the page asks for another. */
  onRefused: (_error: ApiError) => {},
};

async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const key = session.key();
  const response = await fetch(path, {
    ...init,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...init.headers },
  });
  const access = response.headers.get("spoteval-access");
  if (access === "read" || access === "write") session.access = access;
  if (!response.ok) {
    let problem: Problem = {};
    try {
      problem = (await response.json()) as Problem;
    } catch {
      problem = { title: response.statusText };
    }
    const error = new ApiError(response.status, problem);
    if (response.status === 401) session.onRefused(error);
    throw error;
  }
  return response;
}

export const getJson = async <T>(path: string): Promise<T> => (await request(path)).json() as Promise<T>;
export const getText = async (path: string, accept: string): Promise<string> =>
  (await request(path, { headers: { accept } })).text();

export const sendJson = async <T>(method: "POST" | "DELETE", path: string, body?: unknown): Promise<T> =>
  (
    await request(path, {
      method,
      ...(body !== undefined
        ? { body: JSON.stringify(body), headers: { "content-type": "application/json" } }
        : {}),
    })
  ).json() as Promise<T>;

// ---- the shapes of the routes the page reads (today's API; later fields are optional) ----

export type Model = { id: string; revision: string; dtype: string; parameters?: number };
export type TaskSpec = { name: string; numFewshot: number | null };
export type Progress = {
  phase: string;
  task?: string;
  done: number;
  total: number;
  ratePerSecond?: number;
  etaSeconds?: number;
};
export type RunSummary = {
  runId: string;
  status: string;
  model: Model;
  tasks: TaskSpec[];
  createdAt: string;
  updatedAt: string;
  reason?: string;
  costUsd?: number;
  simulated: boolean;
};
export type Attempt = {
  attempt: number;
  status: string;
  instanceId?: string;
  instanceType?: string;
  availabilityZone?: string;
  market?: string;
  pricePerHour?: number;
  startedAt?: string;
  endedAt?: string;
  endReason?: string;
  costUsd?: number;
  heartbeatAt?: string;
  backend?: string;
  simulated?: boolean;
};
export type Metric = {
  task: string;
  isGroup?: boolean;
  version?: string | number | null;
  filter: string;
  numFewshot?: number | null;
  metric: string;
  value: number | string | null;
  stderr: number | string | null;
  higherIsBetter?: boolean | null;
};
/** Fields other parts of spoteval may add; shown when present, never required. */
export type Shard = {
  shard?: number | string;
  index?: number;
  tasks?: string[];
  status?: string;
  progress?: Progress;
};
export type ParityRow = {
  task?: string;
  metric?: string;
  filter?: string;
  value?: number | string | null;
  stderr?: number | string | null;
  reference?: { value: number | string | null; stderr: number | string | null; source?: string } | null;
  delta?: number | null;
  z?: number | null;
  p?: number | null;
  test?: string;
  verdict?: string;
  warnings?: string[];
};
/** A run's agreement with reference results: an overall verdict and one row per compared metric. */
export type Parity = { verdict?: string; overall?: string; zThreshold?: number; rows?: ParityRow[] };
export type Delivery = Record<string, unknown>;
export type RunDetail = RunSummary & {
  spec: {
    model: Model;
    tasks: TaskSpec[];
    suite?: string;
    limit?: number;
    batchSize: number;
    harnessRevision: string;
    capacity: Record<string, unknown>;
    labels?: Record<string, string>;
  };
  error?: { name?: string; message?: string } | string;
  cancelRequested: boolean;
  phase?: string;
  progress?: Progress;
  costSoFarUsd: number;
  attempts: Attempt[];
  results?: string;
  samples?: string | string[];
  metrics: Metric[];
  shards?: Shard[];
  parity?: Parity;
  deliveries?: Delivery[];
  callback?: { url?: string; deliveries?: Delivery[] };
};
