import { RegisterCommand } from './main';

/** Placeholder until the `validate` command lands. */
export const registerValidate: RegisterCommand = () => undefined;
