// The credential provider the Lambda bundles use in place of the SDK's default chain (serverless.yml
// custom.esbuild.alias). Lambda hands every function its role's credentials in environment variables;
// the default chain's other sources (SSO, ini files, web identity, container and instance metadata)
// are ~100 KB of bundle and cold-start parse time that a Lambda never uses.
import { fromEnv } from "@aws-sdk/credential-provider-env";

export const defaultProvider = (_init?: unknown) => fromEnv();
