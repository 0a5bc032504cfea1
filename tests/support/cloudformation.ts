// Resolves the intrinsic functions of a packaged CloudFormation template the way CloudFormation would,
// for one imagined account, so its IAM policies can be evaluated with real ARNs.
// Covers what spoteval's template uses: Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::Split, Fn::If (with
// Fn::Equals, Fn::Not, Fn::And, Fn::Or conditions), Fn::Select, AWS::NoValue. Anything else throws.

export type Template = {
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
};

export const account = { partition: "aws", region: "us-east-1", accountId: "123456789012" };

const NoValue = Symbol("AWS::NoValue");

/** The physical name a resource would get, and its ARN (what Ref and GetAtt Arn return). */
function physical(template: Template, id: string): { ref: string; arn: string } {
  const resource = template.Resources[id];
  if (!resource) throw new Error(`the template has no resource ${id}`);
  const { partition: p, region: r, accountId: a } = account;
  const name = `spoteval-dev-${id}-EXAMPLE`;
  switch (resource.Type) {
    case "AWS::DynamoDB::Table":
      return { ref: name, arn: `arn:${p}:dynamodb:${r}:${a}:table/${name}` };
    case "AWS::S3::Bucket":
      return { ref: name.toLowerCase(), arn: `arn:${p}:s3:::${name.toLowerCase()}` };
    case "AWS::IAM::Role":
      return { ref: name, arn: `arn:${p}:iam::${a}:role/${name}` };
    case "AWS::IAM::InstanceProfile":
      return { ref: name, arn: `arn:${p}:iam::${a}:instance-profile/${name}` };
    case "AWS::StepFunctions::StateMachine": {
      const arn = `arn:${p}:states:${r}:${a}:stateMachine:${String(resource.Properties?.StateMachineName ?? name)}`;
      return { ref: arn, arn };
    }
    case "AWS::Lambda::Function":
      return { ref: name, arn: `arn:${p}:lambda:${r}:${a}:function:${name}` };
    case "AWS::Logs::LogGroup": {
      const group = String(resource.Properties?.LogGroupName ?? name);
      return { ref: group, arn: `arn:${p}:logs:${r}:${a}:log-group:${group}:*` };
    }
    default:
      return { ref: name, arn: `arn:${p}:cloudformation:${r}:${a}:resource/${id}` };
  }
}

function pseudo(name: string): string | undefined {
  return {
    "AWS::Partition": account.partition,
    "AWS::Region": account.region,
    "AWS::AccountId": account.accountId,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "spoteval-dev",
  }[name];
}

export function resolve(template: Template, value: unknown): unknown {
  const out = walk(template, value);
  return out === NoValue ? undefined : out;
}

function condition(template: Template, name: string): boolean {
  const definition = template.Conditions?.[name];
  if (definition === undefined) throw new Error(`the template has no condition ${name}`);
  return Boolean(walk(template, definition));
}

function walk(template: Template, value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => walk(template, v)).filter((v) => v !== NoValue);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [fn, arg] = entries[0];
    if (fn === "Ref") {
      const name = arg as string;
      if (name === "AWS::NoValue") return NoValue;
      return pseudo(name) ?? physical(template, name).ref;
    }
    if (fn === "Fn::GetAtt") {
      const [id, attribute] = Array.isArray(arg) ? arg : String(arg).split(".");
      if (attribute !== "Arn") throw new Error(`Fn::GetAtt ${id}.${attribute} is not resolved here`);
      return physical(template, id).arn;
    }
    if (fn === "Fn::Sub") {
      const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
      const bound = walk(template, vars) as Record<string, unknown>;
      return String(text).replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
        if (name in bound) return String(bound[name]);
        const p = pseudo(name);
        if (p !== undefined) return p;
        const [id, attribute] = name.split(".");
        return attribute === "Arn" ? physical(template, id).arn : physical(template, id).ref;
      });
    }
    if (fn === "Fn::Join") {
      const [separator, parts] = arg as [string, unknown];
      return (walk(template, parts) as unknown[]).join(separator);
    }
    if (fn === "Fn::Split") {
      const [separator, text] = arg as [string, unknown];
      return String(walk(template, text)).split(separator);
    }
    if (fn === "Fn::Select") {
      const [index, items] = arg as [unknown, unknown];
      return (walk(template, items) as unknown[])[Number(walk(template, index))];
    }
    if (fn === "Fn::If") {
      const [name, yes, no] = arg as [string, unknown, unknown];
      return walk(template, condition(template, name) ? yes : no);
    }
    if (fn === "Fn::Equals") {
      const [a, b] = walk(template, arg) as unknown[];
      return JSON.stringify(a) === JSON.stringify(b);
    }
    if (fn === "Fn::Not") return !(walk(template, arg) as unknown[])[0];
    if (fn === "Fn::And") return (walk(template, arg) as unknown[]).every(Boolean);
    if (fn === "Fn::Or") return (walk(template, arg) as unknown[]).some(Boolean);
    if (fn === "Condition") return condition(template, arg as string);
    if (fn.startsWith("Fn::")) throw new Error(`${fn} is not resolved here`);
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of entries) {
    const resolved = walk(template, v);
    if (resolved !== NoValue) out[k] = resolved;
  }
  return out;
}
