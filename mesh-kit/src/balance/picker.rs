//! Power of two choices: sample two endpoints at random, send to the one with fewer calls in
//! flight. Nearly as good as always taking the least loaded one, without every caller piling onto
//! the same "least loaded" endpoint at once (Mitzenmacher; what `tower::balance::p2c` does).
//! Written here rather than taken from tower because ours must skip endpoints that are out and,
//! for a retry, the endpoint that just failed.

use std::{
    hash::{BuildHasher, Hasher},
    sync::atomic::{AtomicU64, Ordering},
};

/// The index in `loads` to send to, or `None` when there is nothing to choose from.
/// `random(n)` returns a number below `n`.
pub(crate) fn p2c(loads: &[usize], random: &mut impl FnMut(usize) -> usize) -> Option<usize> {
    match loads.len() {
        0 => None,
        1 => Some(0),
        n => {
            let a = random(n);
            // Two distinct indices: draw from n-1 and skip over `a`.
            let mut b = random(n - 1);
            if b >= a {
                b += 1;
            }
            // On a tie the first draw wins, which is itself random: equal loads spread evenly.
            Some(if loads[b] < loads[a] { b } else { a })
        }
    }
}

/// A small, lock-free random source (splitmix64), seeded from the standard library's per-process
/// random keys. Balancing needs spread, not secrecy, and no extra crate.
#[derive(Debug)]
pub(crate) struct Rng(AtomicU64);

impl Rng {
    pub(crate) fn new() -> Self {
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Self(AtomicU64::new(seed))
    }

    /// A number below `n` (`n` > 0).
    pub(crate) fn below(&self, n: usize) -> usize {
        let mut z = self
            .0
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // Multiply-shift maps 64 random bits onto 0..n without a modulo bias worth the name.
        ((u128::from(z) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `random` that returns the given draws in order.
    fn draws(values: &[usize]) -> impl FnMut(usize) -> usize + '_ {
        let mut values = values.iter();
        move |n| {
            let v = *values.next().expect("enough draws");
            assert!(v < n, "draw {v} out of 0..{n}");
            v
        }
    }

    #[test]
    fn nothing_to_choose_from_is_none_and_one_is_that_one() {
        assert_eq!(p2c(&[], &mut draws(&[])), None);
        assert_eq!(p2c(&[7], &mut draws(&[])), Some(0));
    }

    #[test]
    fn of_the_two_drawn_the_less_loaded_wins() {
        // Draws 0 and (1 → skips 0 → ) 2: loads 5 and 1.
        assert_eq!(p2c(&[5, 0, 1], &mut draws(&[0, 1])), Some(2));
        // The idle endpoint 1 was not drawn, so it cannot win.
        assert_eq!(p2c(&[5, 0, 9], &mut draws(&[2, 0])), Some(0));
    }

    #[test]
    fn the_two_draws_are_never_the_same_endpoint() {
        // Second draw 0 from 0..1 means "the other one".
        assert_eq!(p2c(&[3, 1], &mut draws(&[0, 0])), Some(1));
        assert_eq!(p2c(&[1, 3], &mut draws(&[1, 0])), Some(0));
    }

    #[test]
    fn equal_loads_spread_evenly() {
        let rng = Rng::new();
        let mut counts = [0usize; 3];
        for _ in 0..3000 {
            if let Some(i) = p2c(&[0, 0, 0], &mut |n| rng.below(n)) {
                counts[i] += 1;
            }
        }
        // 1000 expected each; the bounds are many standard deviations wide.
        assert!(
            counts.iter().all(|&c| (800..1200).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn random_numbers_stay_below_the_bound() {
        let rng = Rng::new();
        for n in 1..50 {
            for _ in 0..100 {
                assert!(rng.below(n) < n);
            }
        }
    }
}
