/** Starts one real redis-server and the local Upstash REST server for the whole test run. */
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    upstashUrl: string;
    upstashToken: string;
    redisPort: number;
  }
}

export default async function setup(project: TestProject) {
  // Filled in by the local Upstash work: start redis-server + the REST server on free ports.
  project.provide('upstashUrl', 'http://127.0.0.1:1');
  project.provide('upstashToken', 'test-upstash-token');
  project.provide('redisPort', 0);
  return async () => {};
}
