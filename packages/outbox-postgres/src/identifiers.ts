import { z } from 'zod';

/**
 * Table and schema names are written into SQL (they cannot be bind parameters), so only plain
 * identifiers are accepted: letters, digits and `_`, at most 63 bytes (PostgreSQL's NAMEDATALEN
 * less one; a longer name would be cut silently and two tables could share one).
 */
export const IdentifierSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'must be a plain SQL identifier: 1-63 letters, digits or "_", not starting with a digit');

/** `"name"`: quoted, so the case given is the case used. */
export const quote = (identifier: string): string => `"${identifier}"`;

/** `"schema"."table"`, or `"table"` (found through the search_path). */
export const qualified = (table: string, schema: string | undefined): string => (schema === undefined ? quote(table) : `${quote(schema)}.${quote(table)}`);
