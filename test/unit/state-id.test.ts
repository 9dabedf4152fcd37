import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateContainerId, InvalidIdError } from '../../src/state/id';

test('ids runc accepts are accepted', () => {
  for (const id of ['a', 'abc-123', 'A_b.c+d', 'x'.repeat(64), '0', '...', 'a..b']) assert.equal(validateContainerId(id), id);
});

test('ids that could escape --root or are not names are rejected', () => {
  for (const id of ['', '.', '..', '/', 'a/b', '../x', 'a b', 'a\nb', 'é', 'a:b', 'x'.repeat(1025)]) {
    assert.throws(() => validateContainerId(id), InvalidIdError, JSON.stringify(id));
  }
});
