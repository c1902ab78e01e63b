/** Runs one mutation of the public API and answers the text to show: its typed errors or the GraphQL error, null when accepted. */
import { gql } from '../api/client';
import { payloadErrorText, type PayloadError } from './payloadErrors';

export async function runMutation(query: string, field: string, input: Record<string, unknown>): Promise<string | null> {
  try {
    const data = await gql<Record<string, { errors: PayloadError[] }>>(query, { input });
    return payloadErrorText(data[field]?.errors);
  } catch (e) {
    return (e as Error).message;
  }
}
