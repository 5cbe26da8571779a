import { RegisterCommand } from './main';

/** Placeholder until the `run` command lands. */
export const registerRun: RegisterCommand = () => undefined;
