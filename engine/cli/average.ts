import { RegisterCommand } from './main';

/** Placeholder until the `average` command lands. */
export const registerAverage: RegisterCommand = () => undefined;
