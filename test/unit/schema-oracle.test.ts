// Cross-checks tsrun's own schemas (schemas/*.schema.json, compiled to standalone validators by
// scripts/gen-spec.mjs) against the official runtime-spec JSON Schemas on the official fixtures.
// The official schemas are only an oracle here: they are loaded from the shared directory at
// test time and never copied into the project.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { validateConfig, validateFeatures, validateState } from '../../src/spec/generated/validators';
import type { StandaloneValidateFunction } from '../../src/spec/generated/validators';

const shared = process.env['TSRUN_SHARED'] ?? path.resolve(process.cwd(), '..', 'shared');
const specDir = path.join(shared, 'oci-runtime-spec', 'schema');
const fixtureDir = path.join(specDir, 'test');

type Kind = 'config' | 'state' | 'features';
const OURS: Record<Kind, StandaloneValidateFunction<unknown>> = {
  config: validateConfig,
  state: validateState,
  features: validateFeatures,
};
const OFFICIAL_ENTRY: Record<Kind, string> = {
  config: 'config-schema.json',
  state: 'state-schema.json',
  features: 'features-schema.json',
};
const BASE = 'file:///oci-runtime-spec/schema/';

/**
 * Compiles the official (draft-04) schemas with ajv 8 in memory: `$schema` is dropped (ajv 8
 * has no draft-04 meta-schema and the keywords used are draft-07 compatible), every file gets
 * an `$id` so that relative refs such as "defs.json#/definitions/x" resolve, and the one
 * malformed ref "#definitions/uint32" in defs.json is repaired.
 */
function loadOfficial(): Record<Kind, ValidateFunction> {
  const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: false });
  for (const name of fs.readdirSync(specDir).filter((n) => n.endsWith('.json')).sort()) {
    let text = fs.readFileSync(path.join(specDir, name), 'utf8');
    if (name === 'defs.json') text = text.replace(/"#definitions\//g, '"#/definitions/');
    const schema = JSON.parse(text) as Record<string, unknown>;
    delete schema['$schema'];
    schema['$id'] = BASE + name;
    ajv.addSchema(schema);
  }
  const get = (name: string): ValidateFunction => {
    const v = ajv.getSchema(BASE + name);
    if (!v) throw new Error(`official schema ${name} did not compile`);
    return v;
  };
  return { config: get(OFFICIAL_ENTRY.config), state: get(OFFICIAL_ENTRY.state), features: get(OFFICIAL_ENTRY.features) };
}

/** Parses a fixture; unparsable JSON counts as invalid for both validators. */
function verdicts(file: string, ours: StandaloneValidateFunction<unknown>, official: ValidateFunction): { ours: boolean; official: boolean; why: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return { ours: false, official: false, why: `invalid JSON (${(e as Error).message})` };
  }
  const o = ours(doc);
  const f = official(doc) as boolean;
  const why = [
    o ? 'ours: valid' : `ours: ${JSON.stringify(ours.errors?.[0] ?? null)}`,
    f ? 'official: valid' : `official: ${JSON.stringify(official.errors?.[0] ?? null)}`,
  ].join('; ');
  return { ours: o, official: f, why };
}

test('shared OCI runtime-spec fixtures are present', () => {
  assert.ok(
    fs.existsSync(fixtureDir),
    `fixture directory ${fixtureDir} is missing (set TSRUN_SHARED to the directory holding oci-runtime-spec/)`,
  );
});

test('project schemas agree with the official schemas on every official fixture', () => {
  assert.ok(fs.existsSync(fixtureDir), `fixture directory ${fixtureDir} is missing`);
  const official = loadOfficial();
  const counts: string[] = [];
  const failures: string[] = [];
  let total = 0;
  for (const kind of ['config', 'state', 'features'] as const) {
    for (const expectation of ['good', 'bad'] as const) {
      const dir = path.join(fixtureDir, kind, expectation);
      const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort() : [];
      let agree = 0;
      for (const name of files) {
        const v = verdicts(path.join(dir, name), OURS[kind], official[kind]);
        const expected = expectation === 'good';
        if (v.ours === expected && v.official === expected) agree++;
        else failures.push(`${kind}/${expectation}/${name}: expected ${expected ? 'valid' : 'invalid'}; ${v.why}`);
      }
      total += files.length;
      counts.push(`${kind}/${expectation}: ${agree}/${files.length}`);
    }
  }
  console.log(`schema oracle: ${total} fixtures; ${counts.join(', ')}`);
  assert.ok(total > 0, 'no fixtures found');
  assert.deepEqual(failures, []);
});
