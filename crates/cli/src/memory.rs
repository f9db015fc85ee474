//! How the allocator treats the fusion's large buffers.
//!
//! A fusion allocates and frees buffers of a few megabytes each (a face's crop in floats, its
//! masks) for every pair. Under glibc's defaults such a buffer is mapped from the system when
//! allocated and handed back when freed, so the next pair's takes fresh pages again, each zeroed by
//! the kernel on its first touch: about 4% of a whole `faceswap bench` run. The freed memory is
//! kept in the process for the next pair instead; the peak stays what one fusion needs.

/// Keeps freed buffers up to glibc's largest mapping threshold (32 MiB) in the process, and does
/// not trim the heap under 512 MiB of free memory. Elsewhere than glibc, nothing.
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets the allocator's parameters; it is called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 512 << 20);
    }
}
