//! The process heap: hands freed pages back to the kernel (after a configuration load and
//! after a reload) and reports what the allocator holds.
//!
//! A reload briefly holds two configurations (and the parser's scratch), then frees the old
//! one. glibc keeps freed pages in its arenas unless they sit at the top of a heap, so
//! without help RSS stays at the reload's peak: measured with a 10k × 10 configuration,
//! 377 MiB after start and 663, 720, 772, 820 MiB after the first reloads, while the bytes
//! in use (`mallinfo2`) returned to their level before each reload — retention by the
//! allocator, not a leak. `malloc_trim(0)` releases every free page of every arena
//! (`madvise(MADV_DONTNEED)`). It cannot release pages that free and live allocations
//! share, which is why `config::load_with` parses on a thread of its own (own arena) and
//! copies the model out; see docs/operations.md, "Memory across reloads".

/// What the allocator held before and after giving free pages back, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapUse {
    /// Bytes in live allocations (small ones in arenas plus large mmapped ones).
    pub in_use: usize,
    /// Bytes the allocator had taken from the kernel before the trim (arenas + mmapped).
    pub held_before: usize,
    /// The same after the trim. Free pages inside arenas stay counted here although they no
    /// longer occupy RAM, so RSS is the better figure for what was returned.
    pub held_after: usize,
}

/// Gives free heap pages back to the kernel; None where the allocator cannot say (not glibc).
#[allow(unsafe_code)]
pub fn release_freed() -> Option<HeapUse> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallinfo2(3) and malloc_trim(3) take no pointer and only walk glibc's own
        // arenas, each under its lock: safe from any thread at any time.
        let before = unsafe { libc::mallinfo2() };
        unsafe {
            libc::malloc_trim(0);
        }
        let after = unsafe { libc::mallinfo2() };
        Some(HeapUse {
            in_use: after.uordblks + after.hblkhd,
            held_before: before.arena + before.hblkhd,
            held_after: after.arena + after.hblkhd,
        })
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// Bytes in live heap allocations (None where the allocator cannot say). The benches
/// measure the configuration model with it: live bytes after a load minus before.
#[allow(unsafe_code)]
pub fn in_use() -> Option<usize> {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: as in `release_freed`: no pointer, glibc's own locked arenas.
        let info = unsafe { libc::mallinfo2() };
        Some(info.uordblks + info.hblkhd)
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        None
    }
}

/// The process's resident set size in bytes (`VmRSS` of /proc/self/status).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freed_memory_is_returned_and_in_use_bytes_are_reported() {
        // Many small blocks, freed but one in 64 kept: the free pages lie between live
        // ones, where glibc's automatic trim never reaches them.
        let mut blocks: Vec<Vec<u8>> = (0..200_000).map(|i| vec![i as u8; 512]).collect();
        let mut kept = Vec::new();
        for (i, b) in blocks.drain(..).enumerate() {
            if i % 64 == 0 {
                kept.push(b);
            }
        }
        let Some(heap) = release_freed() else {
            return; // not glibc: nothing to measure
        };
        assert!(heap.in_use >= kept.len() * 512, "{heap:?}");
        assert!(heap.held_before >= heap.in_use, "{heap:?}");
        assert!(resident_bytes().is_some());
        drop(kept);
    }
}
