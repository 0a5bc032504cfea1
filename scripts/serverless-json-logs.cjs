// Serverless Framework v3 plugin: every function logs in Lambda's JSON log format (v3 has no setting
// for it). Lambda then adds timestamp, level and requestId to each line, and an object logged by
// functions/log.ts stays an object. Applied to every AWS::Lambda::Function, so functions added later
// get it too (tests/deploy/template.test.ts checks).
class JsonLogs {
  constructor(serverless) {
    this.hooks = {
      "before:package:finalize": () => {
        const resources = serverless.service.provider.compiledCloudFormationTemplate.Resources;
        for (const resource of Object.values(resources)) {
          if (resource.Type !== "AWS::Lambda::Function") continue;
          resource.Properties.LoggingConfig = { LogFormat: "JSON", ...resource.Properties.LoggingConfig };
        }
      },
    };
  }
}
module.exports = JsonLogs;
