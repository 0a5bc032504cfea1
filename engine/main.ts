// Entry point of the engine container (and of a local "instance"): one run, then exit. On EC2 the
// user-data shuts the instance down when this exits (instance-initiated shutdown = terminate).
import { boot } from "./boot.ts";

process.exit(await boot());
