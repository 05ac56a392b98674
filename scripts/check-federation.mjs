#!/usr/bin/env node
// Composes the gateway's schema as an Apollo Federation v2 subgraph with a real composer
// (@theguild/federation-composition, from npm), against a running gateway:
//
//   node scripts/check-federation.mjs http://127.0.0.1:PORT
//
// Asks `{ _service { sdl } }`, composes it, and fails on any composition error; on success
// prints the supergraph's size and the entity types (those with @key). A router (Apollo Router,
// Hive Gateway, Cosmo) takes the same SDL.

import path from 'node:path';
import { createRequire } from 'node:module';

import { baseUrlArg, REPO } from './lib/browser.mjs';

const base = baseUrlArg('node scripts/check-federation.mjs http://127.0.0.1:PORT');
const require = createRequire(path.join(REPO, 'gateway', 'web', 'package.json'));
const { parse } = require('graphql');
const { composeServices } = require('@theguild/federation-composition');

const url = new URL('/graphql', base).toString();
const answer = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query: '{ _service { sdl } }' }),
}).then((res) => res.json());
const sdl = answer?.data?._service?.sdl;
if (typeof sdl !== 'string') {
  console.error(`check-federation: FAILED: no _service.sdl from ${url}: ${JSON.stringify(answer)}`);
  process.exit(1);
}

const result = composeServices([{ name: 'mesh', typeDefs: parse(sdl), url }]);
if (result.errors?.length) {
  console.error('check-federation: FAILED: the subgraph does not compose:');
  for (const error of result.errors) console.error(`  - ${error.message}`);
  process.exit(1);
}
const entities = [...sdl.matchAll(/^type (\w+) @key\(fields: "id"\)/gm)].map((m) => m[1]);
if (!entities.length) {
  console.error('check-federation: FAILED: the subgraph declares no entity (@key)');
  process.exit(1);
}
console.log(
  `check-federation: OK: the subgraph composes into a ${result.supergraphSdl.length}-byte ` +
    `supergraph; entities by id: ${entities.join(', ')}`,
);
