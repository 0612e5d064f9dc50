/**
 * Services take repository classes; an in-memory fake implements the part a service uses
 * (`implements Pick<Repository, ...>`, so its signatures follow the real ones) and stands in
 * for the whole class. `R` comes from where the fake is passed: `new Service(standIn(fake))`.
 */
export function standIn<R>(fake: NoInfer<Partial<R>>): R {
  return fake as R;
}
