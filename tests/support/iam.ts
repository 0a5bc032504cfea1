// A small evaluator of IAM identity policies, for the subset of the policy language spoteval's template
// uses. It follows AWS's documented evaluation logic for one account and identity policies only
// (no SCPs, resource policies, boundaries or session policies): an explicit Deny wins over any Allow,
// an Allow wins over the implicit deny, and a statement applies when its Action (or NotAction), its
// Resource (or NotResource) and every one of its Conditions match the request.
// Written here rather than taken from a package: the evaluators on npm are AGPL or cover far more than
// this; see the README's Security section.

export type Values = string | boolean | (string | boolean)[];
export type Statement = {
  Sid?: string;
  Effect: "Allow" | "Deny";
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, Values>>;
};
export type PolicyDocument = { Version?: string; Statement: Statement | Statement[] };

/** What is asked: an action on a resource ARN, with the request context's condition keys. */
export type IamRequest = {
  action: string;
  resource: string;
  context?: Record<string, string | string[] | undefined>;
};
export type Decision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM's wildcards: `*` any run of characters (also none), `?` exactly one. */
function globToRegExp(pattern: string, flags = ""): RegExp {
  const body = pattern
    .split("")
    .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\/]/g, "\\$&")))
    .join("");
  return new RegExp(`^${body}$`, flags);
}

/** Actions match case-insensitively ("s3:getobject" is "s3:GetObject"). */
export const actionMatches = (pattern: string, action: string) => globToRegExp(pattern, "i").test(action);

/**
 * ARNs match segment by segment (partition, service, region, account, resource); a wildcard does not
 * reach across the first five colons, but may across the resource part's own colons and slashes.
 */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === "*") return true;
  const p = splitArn(pattern);
  const a = splitArn(arn);
  if (!p || !a) return globToRegExp(pattern).test(arn);
  return p.every((segment, i) => globToRegExp(segment).test(a[i]));
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(":");
  if (parts.length < 6 || parts[0] !== "arn") return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(":")];
}

type Compare = (policyValue: string, requestValue: string) => boolean;
const operators: Record<string, { compare: Compare; negated?: boolean }> = {
  StringEquals: { compare: (p, r) => p === r },
  StringNotEquals: { compare: (p, r) => p === r, negated: true },
  StringEqualsIgnoreCase: { compare: (p, r) => p.toLowerCase() === r.toLowerCase() },
  StringNotEqualsIgnoreCase: { compare: (p, r) => p.toLowerCase() === r.toLowerCase(), negated: true },
  StringLike: { compare: (p, r) => globToRegExp(p).test(r) },
  StringNotLike: { compare: (p, r) => globToRegExp(p).test(r), negated: true },
  ArnEquals: { compare: (p, r) => p === r },
  ArnNotEquals: { compare: (p, r) => p === r, negated: true },
  ArnLike: { compare: arnMatches },
  ArnNotLike: { compare: arnMatches, negated: true },
  Bool: { compare: (p, r) => p.toLowerCase() === r.toLowerCase() },
};

/**
 * One operator block: every key must match (AND); a key matches when any of its policy values matches
 * (OR). A key missing from the request: false, except for negated operators (true), `...IfExists`
 * (true) and `Null` (which tests exactly that). `ForAllValues:` is true when every request value
 * matches some policy value, and so also when the key is missing or empty; `ForAnyValue:` needs one.
 */
function conditionMatches(operator: string, block: Record<string, Values>, context: IamRequest["context"]) {
  const [qualifier, rest] = operator.includes(":") ? operator.split(":", 2) : ["", operator];
  const ifExists = rest.endsWith("IfExists");
  const name = ifExists ? rest.slice(0, -"IfExists".length) : rest;
  return Object.entries(block).every(([key, raw]) => {
    const policyValues = list(raw).map(String);
    const present = Object.entries(context ?? {}).find(([k]) => k.toLowerCase() === key.toLowerCase())?.[1];
    const requestValues = present === undefined ? undefined : list(present);
    if (name === "Null") {
      const absent = requestValues === undefined || requestValues.length === 0;
      return policyValues.some((v) => (v.toLowerCase() === "true") === absent);
    }
    const op = operators[name];
    if (!op) throw new Error(`the IAM evaluator does not know the condition operator ${operator}`);
    const matchesOne = (r: string) => policyValues.some((p) => op.compare(p, r));
    if (qualifier === "ForAllValues") {
      if (!requestValues?.length) return true;
      return requestValues.every((r) => (op.negated ? !matchesOne(r) : matchesOne(r)));
    }
    if (qualifier === "ForAnyValue") {
      if (!requestValues?.length) return false;
      return requestValues.some((r) => (op.negated ? !matchesOne(r) : matchesOne(r)));
    }
    if (qualifier) throw new Error(`the IAM evaluator does not know the qualifier ${qualifier}`);
    if (requestValues === undefined) return ifExists || Boolean(op.negated);
    const any = requestValues.some(matchesOne);
    return op.negated ? !any : any;
  });
}

export function statementApplies(statement: Statement, request: IamRequest): boolean {
  const action =
    statement.Action !== undefined
      ? list(statement.Action).some((a) => actionMatches(a, request.action))
      : !list(statement.NotAction).some((a) => actionMatches(a, request.action));
  if (!action) return false;
  const resource =
    statement.Resource !== undefined
      ? list(statement.Resource).some((r) => arnMatches(r, request.resource))
      : statement.NotResource !== undefined
        ? !list(statement.NotResource).some((r) => arnMatches(r, request.resource))
        : false;
  if (!resource) return false;
  return Object.entries(statement.Condition ?? {}).every(([op, block]) =>
    conditionMatches(op, block, request.context),
  );
}

/** Explicit deny > allow > implicit deny, over all the identity's policies. */
export function evaluate(policies: PolicyDocument[], request: IamRequest): Decision {
  const statements = policies.flatMap((p) => list(p.Statement));
  if (statements.some((s) => s.Effect === "Deny" && statementApplies(s, request))) return "ExplicitDeny";
  if (statements.some((s) => s.Effect === "Allow" && statementApplies(s, request))) return "Allow";
  return "ImplicitDeny";
}

export const allows = (policies: PolicyDocument[], request: IamRequest) =>
  evaluate(policies, request) === "Allow";
