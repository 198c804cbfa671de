/**
 * A function compiled from JavaScript source (`new Function(...parameters, body)`),
 * for the per-model hot paths generated once from a model's columns. Undefined where
 * Node forbids code generation (`--disallow-code-generation-from-strings`): each
 * caller then keeps its general loop, which does the same more slowly.
 */
export function generatedFunction<T>(parameters: readonly string[], body: string): T | undefined {
  try {
    return new Function(...parameters, body) as T;
  } catch (error) {
    if (error instanceof EvalError) return undefined;
    throw error;
  }
}
