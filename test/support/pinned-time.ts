/**
 * Epoch ms that tests pin clocks and requests to. In the future (2038-01-01): a Durable Object's
 * alarm set from a pinned time that has passed fires at once, and its sweep reads the real clock,
 * so it would drop every pinned unit mid-test (with the 1.8e12 used before, from 2027-01-15).
 * 572 weeks after 1.8e12, so minute, hour and day edges fall where they did, and below 2^41, so
 * fractional times round as they did (a double's step is the same there).
 */
export const PINNED_T0 = 2_145_945_600_000;
