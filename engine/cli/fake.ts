import { RegisterCommand } from './main';

/** Placeholder until the `fake` command lands. */
export const registerFake: RegisterCommand = () => undefined;
