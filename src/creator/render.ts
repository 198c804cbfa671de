/**
 * Fills `<%= key %>` holes. That syntax cannot clash with TypeScript's own `${...}`
 * template literals in the scaffold files.
 */
export function renderTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/<%=\s*(\w+)\s*%>/g, (hole, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`Template hole ${hole} has no value`);
    return value;
  });
}
