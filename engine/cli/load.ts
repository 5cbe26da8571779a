import { RegisterCommand } from './main';

/** Placeholder until the `load` command lands. */
export const registerLoad: RegisterCommand = () => undefined;
