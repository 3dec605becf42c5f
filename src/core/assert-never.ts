// The default branch of an exhaustive switch over a union: the type checker proves it unreachable,
// and should a value of a case no branch handles come in at run time anyway (an unchecked cast, a
// newer API version), this names it instead of going on silently.

/** `what` names the union in the message (`unexpected peer {...}`). */
export function assertNever(x: never, what = 'case'): never {
  throw new TypeError(`unexpected ${what} ${JSON.stringify(x)}`);
}
