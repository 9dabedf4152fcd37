// Container ids become directory names under --root, so they are checked before any use.
// Accepted: what runc accepts, letters, digits, '_', '+', '-', '.', but never '.' or '..'.
const ID_PATTERN = /^[\w+\-.]+$/;
const MAX_ID_LENGTH = 1024;

export class InvalidIdError extends Error {}

export function validateContainerId(id: string): string {
  if (id === '') throw new InvalidIdError('container id cannot be empty');
  if (id.length > MAX_ID_LENGTH || !ID_PATTERN.test(id) || id === '.' || id === '..') {
    throw new InvalidIdError('invalid container ID format');
  }
  return id;
}
