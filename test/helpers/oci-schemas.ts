// The official runtime-spec 1.3.0 schemas from ../shared, compiled with ajv at test time:
// an independent oracle for what tsrun writes and for tsrun's own schemas.
import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from './tsrun';

export const OFFICIAL_SCHEMA_DIR = join(SHARED, 'oci-runtime-spec', 'schema');

let ajv: Ajv | undefined;

function officialAjv(): Ajv {
  if (ajv) return ajv;
  // The official files are draft-04 style ("id", "$schema" of draft-04) and one $ref lacks the
  // slash after '#'; adapt both in memory so ajv (draft-07) can load them.
  const instance = new Ajv({ strict: false, allErrors: false, validateFormats: false });
  for (const name of readdirSync(OFFICIAL_SCHEMA_DIR).filter((n) => n.endsWith('.json'))) {
    const text = readFileSync(join(OFFICIAL_SCHEMA_DIR, name), 'utf8').replace(/"#definitions\//g, '"#/definitions/');
    const schema = JSON.parse(text) as Record<string, unknown>;
    delete schema.$schema;
    if (typeof schema.id === 'string') {
      schema.$id = schema.id;
      delete schema.id;
    }
    instance.addSchema(schema, name);
  }
  ajv = instance;
  return instance;
}

export type OfficialSchema = 'config-schema.json' | 'state-schema.json' | 'features-schema.json';

export function officialValidator(file: OfficialSchema): ValidateFunction {
  const v = officialAjv().getSchema(file);
  if (!v) throw new Error(`official schema ${file} not found under ${OFFICIAL_SCHEMA_DIR}`);
  return v;
}

/** Asserts that `data` is valid under the official schema, failing with ajv's errors. */
export function assertOfficiallyValid(file: OfficialSchema, data: unknown): void {
  const validate = officialValidator(file);
  if (!validate(data)) throw new Error(`not valid under the official ${file}: ${JSON.stringify(validate.errors)}`);
}
