/**
 * The rules settings are parsed by: each turns text into a value or throws with the rule broken.
 *
 * @module
 */

/** A whole number from `min` to `max`. */
export function integer(min: number, max: number) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw.trim())) throw new Error(`must be a whole number, got "${raw}"`);
    const n = Number(raw.trim());
    if (n < min || n > max) throw new Error(`must be from ${min} to ${max}, got ${n}`);
    return n;
  };
}

/** One of `values` (case-insensitive). */
export function oneOf<T extends string>(values: readonly T[]) {
  return (raw: string): T => {
    const v = raw.trim().toLowerCase();
    if (!(values as readonly string[]).includes(v)) {
      throw new Error(`must be one of ${values.join(", ")}, got "${raw}"`);
    }
    return v as T;
  };
}

/** Text that `rule` accepts (it returns the problem, if any). */
export function text(rule: (v: string) => string | undefined) {
  return (raw: string): string => {
    const problem = rule(raw);
    if (problem) throw new Error(problem);
    return raw;
  };
}

/** true/false, 1/0, yes/no (empty: false). */
export function boolean(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (["true", "1", "yes"].includes(v)) return true;
  if (["false", "0", "no", ""].includes(v)) return false;
  throw new Error(`must be true or false, got "${raw}"`);
}

/** A Kubernetes quantity (500m, 2, 512Mi), or empty. */
export const quantity = text((v) =>
  v === "" || /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.test(v.trim())
    ? undefined
    : `must be a Kubernetes quantity such as 500m, 2, 512Mi or 1Gi (or empty for none), got "${v}"`
);
/** Any text but an empty one. */
export const nonEmpty = text((v) => (v.trim() === "" ? "must not be empty" : undefined));
/** host:port, or empty. */
export const hostPort = text((v) =>
  v === "" || /^[^\s:]+:\d{1,5}$/.test(v) || /^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(v)
    ? undefined
    : `must be host:port (or empty to turn push delivery off), got "${v}"`
);

/** A file path: taken as given, without surrounding spaces (empty: not set). */
export const path = (v: string): string => v.trim();

/** Parses `IMAGE_ALLOWLIST`: comma-separated patterns without spaces. */
export function imagePatterns(raw: string): readonly string[] {
  const patterns = raw.split(",").map((p) => p.trim()).filter((p) => p !== "");
  for (const p of patterns) {
    if (/\s/.test(p)) {
      throw new Error(`"${p}" is not an image pattern such as registry.example.com/ci/*`);
    }
  }
  return patterns;
}
