/**
 * @module
 * Validation of the key store document on its way in and out of any store, so every store refuses the same
 * things with the same messages.
 */
import { describeIssues, KeyStoreDocumentSchema, type KeyStoreDocument } from '../key-record.ts';
import { KeyStoreError } from './key-store.ts';

/** Parses and validates a stored document; `where` names the store in errors. */
export function parseDocument(text: string, where: string): KeyStoreDocument {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new KeyStoreError('EP_KEYSTORE_INVALID', `key store ${where} is not valid JSON`, {
      cause: err,
    });
  }
  const result = KeyStoreDocumentSchema.safeParse(json);
  if (!result.success) {
    throw new KeyStoreError(
      'EP_KEYSTORE_INVALID',
      `key store ${where} is not a valid key store document:\n${describeIssues(result.error)}`,
    );
  }
  return result.data;
}

/** Validates a document before it is written; `where` names the store in errors. */
export function documentToSave(doc: KeyStoreDocument, where: string): KeyStoreDocument {
  const checked = KeyStoreDocumentSchema.safeParse(doc);
  if (!checked.success) {
    throw new KeyStoreError(
      'EP_KEYSTORE_INVALID',
      `refusing to write an invalid key store document to ${where}:\n${describeIssues(checked.error)}`,
    );
  }
  return checked.data;
}
