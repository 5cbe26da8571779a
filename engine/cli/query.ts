import { RegisterCommand } from './main';

/** Placeholder until the `query` command lands. */
export const registerQuery: RegisterCommand = () => undefined;
