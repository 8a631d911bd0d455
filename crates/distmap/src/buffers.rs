//! Large zeroed buffers backed by transparent huge pages where the OS allows it.
//!
//! A fresh 32 MB map touched page by page costs 8192 page faults, as much time as a whole pass
//! of the transform; with 2 MB pages it costs 16. numpy asks for huge pages the same way.

/// Buffers below this size keep ordinary pages.
const HUGE_PAGE_THRESHOLD: usize = 4 << 20;

/// `vec![T::default(); len]` (fresh zero pages from the allocator for float zeros), advised to use
/// huge pages when large: the output buffer of a map that is written once, element by element.
pub fn zeroed_vec<T: Default + Clone>(len: usize) -> Vec<T> {
    let buffer = vec![T::default(); len];
    advise_huge_pages(&buffer);
    buffer
}

#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(buffer: &[T]) {
    let bytes = std::mem::size_of_val(buffer);
    if bytes < HUGE_PAGE_THRESHOLD {
        return;
    }
    const PAGE: usize = 4096;
    let start = buffer.as_ptr() as usize;
    let first = start.div_ceil(PAGE) * PAGE;
    let last = (start + bytes) / PAGE * PAGE;
    if last > first {
        // SAFETY: [first, last) lies inside the live allocation and is page-aligned; the advice
        // changes how the kernel backs those pages, never their contents. Failure is harmless.
        unsafe {
            libc::madvise(
                first as *mut libc::c_void,
                last - first,
                libc::MADV_HUGEPAGE,
            );
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages<T>(_buffer: &[T]) {}
