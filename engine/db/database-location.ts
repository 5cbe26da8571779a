/** Where a database lives, resolved from a dbconf section name or a URL. */
export interface DatabaseLocation {
  /** The name or URL the user gave. */
  name: string;
  dialect: 'sqlite' | 'mysql';
  /** SQLite file (absolute), or `:memory:`. */
  filename?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  socket?: string;
  /** The faker may drop and write tables here (database name starts with `fake`, or `fake = true`). */
  fake: boolean;
  /** Production DBI database (`offline_db`, or `production = true`): never seeded, never created. */
  production: boolean;
  /** Where the settings came from: `file [section]` or `url`. */
  origin: string;
  /** Things the operator should hear about (e.g. a dbconf file readable by others). */
  warnings: string[];
}
