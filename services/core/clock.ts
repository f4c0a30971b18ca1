export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock that always reads the same instant: `digest run --at` plans as if it were that time. */
export const fixedClock = (at: Date): Clock => ({ now: () => new Date(at) });
