/**
 * A value made on first use. Schema guards and parsers are compiled when
 * they are made: made at module level, every program that imports the core
 * would compile them at start, whether it ever calls them or not.
 */
export const lazy = <A>(make: () => A): (() => A) => {
  let made: { readonly value: A } | undefined
  return () => {
    made ??= { value: make() }
    return made.value
  }
}
