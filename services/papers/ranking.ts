/** The start of the window a digest planned at `at` looks back over. */
export const rankSince = (at: Date, windowDays: number) => new Date(at.getTime() - windowDays * 86_400_000);
