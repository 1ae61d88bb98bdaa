//! Searches of sorted (partitioned) slices that start from a known position (and
//! [`first_index`], the plain binary search over an index range they and their callers share): the engine's
//! cursors and the books' level hints are usually at or next to the answer, so these read
//! `O(log distance)` entries near the hint instead of `O(log len)` spread over the slice.
//! Each returns exactly the index `slice::partition_point` returns, so using them never
//! changes a result.

/// The first index in `lo..hi` where `pred` holds (`hi` if none), for `pred` false then true
/// along the range: a binary search over indices, for tests that read more than one slice
/// (a ladder's columns, a text's lines). Its probes are always the same for the same range,
/// so even a `pred` that is not monotone gives an answer that depends on the range and
/// `pred` alone.
#[inline]
pub fn first_index(mut lo: usize, mut hi: usize, mut pred: impl FnMut(usize) -> bool) -> usize {
    while lo < hi {
        let m = lo + (hi - lo) / 2;
        if pred(m) {
            hi = m;
        } else {
            lo = m + 1;
        }
    }
    lo
}

/// The length of the prefix of `s` on which `pred` holds, for `s` partitioned by `pred`
/// (the same index as `s.partition_point(pred)`), found by doubling steps from the front and
/// a binary search inside the last step.
#[inline]
pub fn run_length<T>(s: &[T], mut pred: impl FnMut(&T) -> bool) -> usize {
    // `pred` holds on `s[..lo]`.
    let mut lo = 0;
    let mut width = 1;
    loop {
        let probe = lo + width;
        if probe > s.len() {
            return lo + s[lo..].partition_point(pred);
        }
        if !pred(&s[probe - 1]) {
            return lo + s[lo..probe - 1].partition_point(pred);
        }
        lo = probe;
        width *= 2;
    }
}

/// `s.partition_point(pred)` for `s` partitioned by `pred`, searched by doubling steps from
/// `hint` (any value; clamped to `s.len()`) toward the answer.
#[inline]
pub fn partition_point_from<T>(s: &[T], mut pred: impl FnMut(&T) -> bool, hint: usize) -> usize {
    let h = hint.min(s.len());
    if h == 0 || pred(&s[h - 1]) {
        // `pred` holds on `s[..h]`: the answer is at or after the hint.
        return h + run_length(&s[h..], pred);
    }
    // `pred` fails at `s[hi]`, so the answer is at most `hi`.
    let mut hi = h - 1;
    let mut width = 1;
    loop {
        if width > hi {
            return s[..hi].partition_point(pred);
        }
        let probe = hi - width;
        if pred(&s[probe]) {
            return probe + 1 + s[probe + 1..hi].partition_point(pred);
        }
        hi = probe;
        width *= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::{first_index, partition_point_from, run_length};
    use proptest::prelude::*;

    fn split(head: usize, tail: usize) -> Vec<bool> {
        std::iter::repeat_n(true, head)
            .chain(std::iter::repeat_n(false, tail))
            .collect()
    }

    proptest! {
        /// The searches find `partition_point`'s index for every partitioned slice, whatever
        /// the lengths of its two parts (empty ones included) and wherever the hint is
        /// (before, at, after the answer, or past the end); `first_index` finds the first
        /// index where the predicate turns, on the whole slice and on a sub-range of it.
        #[test]
        fn searches_agree_with_partition_point(
            head in 0usize..300,
            tail in 0usize..300,
            hint in 0usize..700,
        ) {
            let s = split(head, tail);
            prop_assert_eq!(run_length(&s, |&b| b), head);
            prop_assert_eq!(partition_point_from(&s, |&b| b, hint), head);
            prop_assert_eq!(first_index(0, s.len(), |i| !s[i]), head);
            let lo = hint.min(s.len());
            prop_assert_eq!(first_index(lo, s.len(), |i| !s[i]), head.max(lo));
        }

        /// The same on sorted floats with repeated values (the ladders' and books' case).
        #[test]
        fn searches_agree_on_sorted_floats_with_ties(
            mut v in proptest::collection::vec(0u8..20, 0..200),
            x in 0u8..21,
            hint in 0usize..250,
        ) {
            v.sort_unstable();
            let f: Vec<f64> = v.iter().map(|&b| f64::from(b)).collect();
            let x = f64::from(x);
            let want = f.partition_point(|&c| c <= x);
            prop_assert_eq!(run_length(&f, |&c| c <= x), want);
            prop_assert_eq!(partition_point_from(&f, |&c| c <= x, hint), want);
        }
    }
}
