//! Maglev consistent-hash lookup table (Eisenbud et al., NSDI 2016), weighted and
//! deterministic across machines, builds and releases.
//!
//! Every director builds the same table from the same backends, so a flow that ECMP moves
//! from one director to another still lands on the same real server. Determinism rests on
//! three pinned choices: the hash (SipHash-2-4 with fixed keys, implemented here and checked
//! against the reference test vector — never `std`'s `RandomState`/`DefaultHasher`, whose
//! algorithm is not guaranteed across Rust releases), the backend names (the canonical
//! `addr:port` text chosen by the caller), and the fill order (backends in the order given,
//! which callers keep canonical).
//!
//! Weights: in fill round `r`, backend `i` takes its next preferred slot when
//! `floor((r+1)·wᵢ/w_max) > floor(r·wᵢ/w_max)`, so over a full table each backend fills a share
//! proportional to its weight. Weight-0 backends take no slot.

/// A large prime table size: 1,000 backends still get ~65 slots each. Tests and benches
/// use it as a fixed reference; services get [`table_size_for`] unless configured.
pub const DEFAULT_TABLE_SIZE: u32 = 65_537;

/// Largest table size the configuration accepts (the largest prime below 2²⁰): bounds the
/// map one service can put in the kernel.
pub const MAX_TABLE_SIZE: u32 = 1_048_573;

/// Slots per backend of the automatic size: the paper's rule (M > 100 × N keeps every
/// backend's share within about 1 % of its ideal).
const SLOTS_PER_BACKEND: u64 = 100;

/// The backend count the automatic size is computed for: `n` rounded up to the next of
/// 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, … (powers of two and 1.5 × powers of two). M changes
/// only when the configured count crosses one of these steps, and stays within 1.5× of what
/// the exact count would need.
pub fn size_step(n: usize) -> u64 {
    let n = n.max(1) as u64;
    let mut step = 1u64;
    loop {
        if n <= step {
            return step;
        }
        let half_way = step + step / 2;
        if step >= 2 && n <= half_way {
            return half_way;
        }
        step *= 2;
    }
}

/// The automatic table size for a service with `n` configured backends: the smallest prime
/// greater than 100 × [`size_step`]`(n)`, capped at [`MAX_TABLE_SIZE`]. A pure function of
/// the configuration, so every director computes the same M.
pub fn table_size_for(n: usize) -> u32 {
    let floor = (SLOTS_PER_BACKEND * size_step(n)).min(u64::from(MAX_TABLE_SIZE) - 1) as u32;
    let mut m = floor + 1;
    while !is_prime(m) {
        m += 1;
    }
    m
}

/// Fixed SipHash keys for the two Maglev permutation hashes (offset and skip). Changing any
/// of these changes every table on every director: treat them as a wire-format constant.
const OFFSET_KEY: (u64, u64) = (0x6469_7265_6374_6f72, 0x6d61_676c_6576_3031); // "director" "maglev01"
const SKIP_KEY: (u64, u64) = (0x6469_7265_6374_6f72, 0x6d61_676c_6576_3032); // "director" "maglev02"

/// One backend as Maglev sees it: a stable name and a weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backend {
    pub name: String,
    pub weight: u32,
}

/// Errors building a table.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MaglevError {
    #[error("table size {0} is not a prime >= 3")]
    SizeNotPrime(u32),
}

/// A filled lookup table: `slots[i]` is the index of a backend in the list it was built from,
/// or `None` everywhere when no backend has a positive weight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    slots: Vec<Option<u32>>,
}

impl Table {
    /// Builds the table of size `size` (a prime) for `backends`, in their given order.
    pub fn build(backends: &[Backend], size: u32) -> Result<Table, MaglevError> {
        if !is_prime(size) {
            return Err(MaglevError::SizeNotPrime(size));
        }
        let m = size as usize;
        let mut slots: Vec<Option<u32>> = vec![None; m];
        let live: Vec<(usize, u64, u64, u64)> = backends
            .iter()
            .enumerate()
            .filter(|(_, b)| b.weight > 0)
            .map(|(i, b)| {
                let offset = siphash24(OFFSET_KEY, b.name.as_bytes()) % size as u64;
                let skip = siphash24(SKIP_KEY, b.name.as_bytes()) % (size as u64 - 1) + 1;
                (i, offset, skip, u64::from(b.weight))
            })
            .collect();
        if live.is_empty() {
            return Ok(Table { slots });
        }
        let max_weight = live.iter().map(|l| l.3).max().unwrap_or(1);
        let mut next = vec![0u64; live.len()];
        let mut filled = 0usize;
        let mut round: u64 = 0;
        while filled < m {
            for (k, &(index, offset, skip, weight)) in live.iter().enumerate() {
                if (round + 1) * weight / max_weight == round * weight / max_weight {
                    continue;
                }
                // Walk this backend's permutation to its next free slot. M is prime and
                // 1 <= skip < M, so the permutation visits every slot: this terminates.
                loop {
                    let slot = ((offset + next[k] * skip) % size as u64) as usize;
                    next[k] += 1;
                    if slots[slot].is_none() {
                        slots[slot] = Some(index as u32);
                        filled += 1;
                        break;
                    }
                }
                if filled == m {
                    break;
                }
            }
            round += 1;
        }
        Ok(Table { slots })
    }

    /// Backend index for each slot.
    pub fn slots(&self) -> &[Option<u32>] {
        &self.slots
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Number of slots held by each of `n` backends.
    pub fn counts(&self, n: usize) -> Vec<usize> {
        let mut counts = vec![0usize; n];
        for slot in self.slots.iter().flatten() {
            if let Some(c) = counts.get_mut(*slot as usize) {
                *c += 1;
            }
        }
        counts
    }
}

/// Is `n` prime (trial division; table sizes are small).
pub fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    if n % 2 == 0 {
        return n == 2;
    }
    let mut d = 3u32;
    while (d as u64) * (d as u64) <= n as u64 {
        if n % d == 0 {
            return false;
        }
        d += 2;
    }
    true
}

/// SipHash-2-4 (Aumasson & Bernstein), 64-bit output, keys `(k0, k1)`.
pub fn siphash24(key: (u64, u64), data: &[u8]) -> u64 {
    let (k0, k1) = key;
    let mut v0 = k0 ^ 0x736f_6d65_7073_6575;
    let mut v1 = k1 ^ 0x646f_7261_6e64_6f6d;
    let mut v2 = k0 ^ 0x6c79_6765_6e65_7261;
    let mut v3 = k1 ^ 0x7465_6462_7974_6573;
    let round = |v0: &mut u64, v1: &mut u64, v2: &mut u64, v3: &mut u64| {
        *v0 = v0.wrapping_add(*v1);
        *v1 = v1.rotate_left(13);
        *v1 ^= *v0;
        *v0 = v0.rotate_left(32);
        *v2 = v2.wrapping_add(*v3);
        *v3 = v3.rotate_left(16);
        *v3 ^= *v2;
        *v0 = v0.wrapping_add(*v3);
        *v3 = v3.rotate_left(21);
        *v3 ^= *v0;
        *v2 = v2.wrapping_add(*v1);
        *v1 = v1.rotate_left(17);
        *v1 ^= *v2;
        *v2 = v2.rotate_left(32);
    };
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let m = u64::from_le_bytes(word);
        v3 ^= m;
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        round(&mut v0, &mut v1, &mut v2, &mut v3);
        v0 ^= m;
    }
    let rest = chunks.remainder();
    let mut last = [0u8; 8];
    last[..rest.len()].copy_from_slice(rest);
    last[7] = data.len() as u8;
    let m = u64::from_le_bytes(last);
    v3 ^= m;
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    round(&mut v0, &mut v1, &mut v2, &mut v3);
    v0 ^= m;
    v2 ^= 0xff;
    for _ in 0..4 {
        round(&mut v0, &mut v1, &mut v2, &mut v3);
    }
    v0 ^ v1 ^ v2 ^ v3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backends(n: usize) -> Vec<Backend> {
        (0..n)
            .map(|i| Backend {
                name: format!("10.0.{}.{}:80", i / 250, i % 250 + 1),
                weight: 1,
            })
            .collect()
    }

    /// Fraction of slots whose backend *name* differs between two tables.
    fn moved(a: &Table, an: &[Backend], b: &Table, bn: &[Backend]) -> f64 {
        let name =
            |t: &Table, n: &[Backend], i: usize| t.slots()[i].map(|k| n[k as usize].name.clone());
        let changed = (0..a.len())
            .filter(|&i| name(a, an, i) != name(b, bn, i))
            .count();
        changed as f64 / a.len() as f64
    }

    #[test]
    fn siphash_reference_vectors() {
        // Reference vectors from the SipHash paper / reference implementation:
        // key = 00 01 .. 0f, message = 00 01 .. (len-1).
        let key = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        assert_eq!(siphash24(key, &[]), 0x726f_db47_dd0e_0e31);
        let msg: Vec<u8> = (0u8..15).collect();
        assert_eq!(siphash24(key, &msg), 0xa129_ca61_49be_45e5);
    }

    #[test]
    fn pinned_table_vector() {
        // Changing the hash, keys, names or fill order changes every director's table at
        // once; a release that does so must say so. These are the first slots for 3 backends.
        let t = Table::build(&backends(3), 13).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<u32> = t.slots().iter().map(|s| s.unwrap_or(99)).collect();
        assert_eq!(got, PINNED_13);
    }
    const PINNED_13: [u32; 13] = [2, 2, 1, 0, 2, 2, 1, 0, 0, 0, 1, 1, 0];

    #[test]
    fn rejects_non_prime() {
        assert_eq!(
            Table::build(&backends(2), 65_536),
            Err(MaglevError::SizeNotPrime(65_536))
        );
    }

    #[test]
    fn full_and_balanced() {
        for n in [1usize, 2, 10, 100] {
            let b = backends(n);
            let t = Table::build(&b, DEFAULT_TABLE_SIZE).unwrap_or_else(|e| panic!("{e}"));
            assert!(t.slots().iter().all(|s| s.is_some()), "table not full");
            let ideal = DEFAULT_TABLE_SIZE as f64 / n as f64;
            for c in t.counts(n) {
                assert!(
                    (c as f64 - ideal).abs() / ideal < 0.02,
                    "n={n}: share {c} vs ideal {ideal}"
                );
            }
        }
    }

    #[test]
    fn weighted_shares_follow_weights() {
        let mut b = backends(4);
        for (i, w) in [1u32, 2, 3, 4].iter().enumerate() {
            b[i].weight = *w;
        }
        let t = Table::build(&b, DEFAULT_TABLE_SIZE).unwrap_or_else(|e| panic!("{e}"));
        let counts = t.counts(4);
        for (i, w) in [1.0f64, 2.0, 3.0, 4.0].iter().enumerate() {
            let ideal = DEFAULT_TABLE_SIZE as f64 * w / 10.0;
            assert!(
                (counts[i] as f64 - ideal).abs() / ideal < 0.02,
                "backend {i}: {} vs {ideal}",
                counts[i]
            );
        }
    }

    #[test]
    fn zero_weight_takes_nothing_and_empty_is_empty() {
        let mut b = backends(3);
        b[1].weight = 0;
        let t = Table::build(&b, 101).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.counts(3)[1], 0);
        for x in &mut b {
            x.weight = 0;
        }
        let t = Table::build(&b, 101).unwrap_or_else(|e| panic!("{e}"));
        assert!(t.slots().iter().all(|s| s.is_none()));
    }

    #[test]
    fn removing_one_of_n_moves_about_one_nth_and_adding_back_restores() {
        for n in [10usize, 100] {
            let all = backends(n);
            let before = Table::build(&all, DEFAULT_TABLE_SIZE).unwrap_or_else(|e| panic!("{e}"));
            let victim = n / 2;
            let mut fewer = all.clone();
            fewer.remove(victim);
            let after = Table::build(&fewer, DEFAULT_TABLE_SIZE).unwrap_or_else(|e| panic!("{e}"));
            let frac = moved(&before, &all, &after, &fewer);
            let ideal = 1.0 / n as f64;
            assert!(
                (frac - ideal).abs() < 0.01,
                "n={n}: moved {frac:.4} vs ideal {ideal:.4}"
            );
            // Collateral: slots that did not point at the victim but moved anyway. Maglev
            // trades a little of this for balance; the paper reports it as small.
            let victim_name = &all[victim].name;
            let collateral = (0..before.len())
                .filter(|&i| {
                    let b = before.slots()[i].map(|k| &all[k as usize].name);
                    let a = after.slots()[i].map(|k| &fewer[k as usize].name);
                    b != Some(victim_name) && a != b
                })
                .count() as f64
                / before.len() as f64;
            assert!(collateral < 0.01, "n={n}: collateral {collateral:.4}");
            // Same input, same table: adding the backend back restores every slot.
            let again = Table::build(&all, DEFAULT_TABLE_SIZE).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(again, before);
        }
    }

    #[test]
    fn automatic_size_follows_the_steps() {
        let steps: Vec<u64> = (1..=13).map(size_step).collect();
        assert_eq!(steps, [1, 2, 3, 4, 6, 6, 8, 8, 12, 12, 12, 12, 16]);
        assert_eq!(table_size_for(0), 101);
        assert_eq!(table_size_for(1), 101);
        assert_eq!(table_size_for(10), 1201);
        assert_eq!(table_size_for(11), 1201);
        assert_eq!(table_size_for(13), 1601);
        for n in [1usize, 5, 10, 100, 1000, 5000, 100_000] {
            let m = table_size_for(n);
            assert!(is_prime(m) && m <= MAX_TABLE_SIZE, "n={n}: {m}");
            assert!(
                u64::from(m) > 100 * n as u64 || m == MAX_TABLE_SIZE,
                "n={n}: {m}"
            );
        }
    }

    #[test]
    fn weight_zero_equals_removal() {
        let all = backends(10);
        let mut drained = all.clone();
        drained[3].weight = 0;
        let mut fewer = all.clone();
        fewer.remove(3);
        let a = Table::build(&drained, 1009).unwrap_or_else(|e| panic!("{e}"));
        let b = Table::build(&fewer, 1009).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(moved(&a, &drained, &b, &fewer), 0.0);
    }
}
