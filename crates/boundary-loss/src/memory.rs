//! How the process's memory allocator treats freed memory. This module owns one process-wide
//! setting that binaries (the CLI's network commands, the training benches) apply once at start,
//! before any thread exists. It is for workloads that free and reallocate large blocks over and
//! over; a one-shot job on large arrays (a distance map of a volume) is faster with the defaults,
//! under which a large buffer is a fresh mapping that can use huge pages.
//!
//! Why: a training step allocates and frees tensors of megabytes to hundreds of megabytes each.
//! With glibc's defaults, blocks above a (dynamic, at most 32 MB) threshold are mapped fresh
//! from the kernel and unmapped when freed, and the heap's free top is returned to the kernel,
//! so every step pays page faults and the kernel's zeroing of every page again: 28 % of an ENet
//! step's CPU time and 80 s of system time in two UNet steps on 2 cores (docs/benchmarks.md).
//! Keeping freed memory in the heap for reuse (no mapping per block, no trimming, the heap grown
//! 256 MB at a time) is what PyTorch's own caching allocators do on GPUs; it made the step 1.2x
//! (UNet) and 1.3x (ENet) faster, at a peak resident memory within 5 % of the defaults'.

/// Top pad of the heap: how much more than asked it grows at a time.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const HEAP_GROWTH: i32 = 256 << 20;

/// Environment variable that keeps the allocator's defaults when set to `system`.
pub const OPT_OUT: &str = "BOUNDARY_LOSS_MALLOC";

/// Makes glibc's `malloc` keep freed memory for reuse instead of returning it to the kernel,
/// unless [`OPT_OUT`] is `system` or `GLIBC_TUNABLES` already sets malloc's parameters (the
/// user's settings win). Returns whether it changed anything; other C libraries and platforms
/// are left as they are. Call it first thing in `main`, before threads start.
pub fn keep_freed_memory() -> bool {
    let opted_out = std::env::var(OPT_OUT).is_ok_and(|v| v == "system")
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|v| v.contains("glibc.malloc."));
    if opted_out {
        return false;
    }
    apply()
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    // SAFETY: mallopt only sets malloc's parameters; it is called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0) == 1
            && libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX) == 1
            && libc::mallopt(libc::M_TOP_PAD, HEAP_GROWTH) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_accepts_the_parameters() {
        // mallopt returns 1 for each parameter it accepts; `apply` ignores the opt-outs.
        assert!(super::apply());
    }
}
