// Serverless loads the state machine from the one ASL file and turns each Resource placeholder
// "${XFunctionArn}" into a reference to function x of serverless.yml (the local stack does the same).
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

module.exports = () => {
  const text = readFileSync(join(__dirname, "evaluation.asl.json"), "utf8");
  return JSON.parse(text, (_key, value) => {
    const match = typeof value === "string" && /^\$\{([A-Z][A-Za-z0-9]*)FunctionArn\}$/.exec(value);
    if (!match) return value;
    return { "Fn::GetAtt": [match[1][0].toLowerCase() + match[1].slice(1), "Arn"] };
  });
};
