/**
 * Passwords out of everything corral prints. Connection settings are the usual
 * carriers (a URL with `user:password@`, a libpq keyword string with
 * `password=...`, a knex object with a `password` field), and they reach output by
 * many roads: a setting echoed in an error, a driver's message, a stack, a log
 * line. So the process's diagnostics (stderr, logs) pass through `redactSecrets`
 * on their way out, and code that quotes a connection quotes it redacted.
 */

export const REDACTED = '***';

// `scheme://user:password@`: the password runs to the last `@` before a blank or a
// quote, so a malformed URL with a raw `@` in its password is still covered.
const URL_PASSWORD = /(\b[A-Za-z][\w+.-]*:\/\/[^\s/:@'"`]*:)[^\s'"`]*@/g;
// `password=...`, `password: '...'`, `"password":"..."` (libpq strings, object dumps, JSON).
const KEYWORD_PASSWORD = /(\b(?:password|passwd|pass|pwd)['"]?\s*[:=]\s*)('[^']*'|"[^"]*"|[^\s,;}'"]+)/gi;

/** `text` with every password it visibly carries replaced by `***`. Cheap when there is none. */
export function redactSecrets(text: string): string {
  const hasUrl = text.includes('://');
  const hasKeyword = /pass|pwd/i.test(text);
  if (!hasUrl && !hasKeyword) return text;
  let redacted = text;
  if (hasUrl) redacted = redacted.replace(URL_PASSWORD, `$1${REDACTED}@`);
  // A quoted value keeps its quotes, so a JSON log line stays valid JSON.
  if (hasKeyword) redacted = redacted.replace(KEYWORD_PASSWORD, (_, key: string, value: string) => `${key}${/^['"]/.test(value) ? value[0]! + REDACTED + value[0]! : REDACTED}`);
  return redacted;
}

/**
 * A connection setting (a URL or a knex configuration object) as it may be shown.
 * A string is known to be one URL, so its user part is everything up to its last
 * `@`, blanks included (a malformed URL may have any character in its password).
 */
export function redactConnection(setting: unknown): string {
  if (typeof setting === 'string') {
    const start = setting.indexOf('://');
    const at = setting.lastIndexOf('@');
    const colon = start < 0 ? -1 : setting.indexOf(':', start + 3);
    const url = colon >= 0 && colon < at ? `${setting.slice(0, colon + 1)}${REDACTED}${setting.slice(at)}` : setting;
    return redactSecrets(url);
  }
  return redactSecrets(JSON.stringify(setting, (key, value: unknown) => (/^(password|passwd|pass|pwd)$/i.test(key) && value !== undefined ? REDACTED : value)) ?? String(setting));
}
