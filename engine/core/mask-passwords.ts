/** `scheme://user:password@` in any text: the password is group 3. */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^\s:@/]*):([^\s@]*)@/gi;

/**
 * `text` with every password it holds masked: the password of any `scheme://user:password@…`
 * URL becomes `***` (`mysql://user:***@host/db`), and so does each of `secrets` (passwords known
 * to the caller, which a driver message might repeat). Every message and log line that can hold
 * a database URL goes through it, so a password typed in `--source`/`--target` is never printed.
 */
export function maskPasswords(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(URL_CREDENTIALS, (_, scheme: string, user: string) => `${scheme}${user}:***@`);
  for (const secret of secrets) {
    // a one- or two-character password would mask letters everywhere: URLs are masked above anyway
    if (secret && secret.length >= 3) out = out.split(secret).join('***');
  }
  return out;
}
