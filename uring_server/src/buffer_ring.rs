//! The provided buffer ring: where multishot receives put what arrives.
//!
//! A receive submitted with a buffer of its own pins that buffer for as long as it waits:
//! 10,000 idle keep-alive connections would hold 10,000 buffers that receive nothing. With
//! *provided buffers*, a receive names a buffer group instead (IOSQE_BUFFER_SELECT), and the
//! kernel picks a buffer from the group only when bytes arrive. Its CQE then carries the
//! flag BUFFER and the buffer's id in its upper 16 bits; the buffer is the process's until
//! it puts the buffer back in the ring.
//!
//! The ring is an array of `io_uring_buf` entries (address, length, id) in memory both
//! sides share, registered with `IORING_REGISTER_PBUF_RING` (Linux 5.19): the kernel takes
//! entries at its head, the process adds them at the tail, a 16-bit counter that lives in
//! the last field of the first entry. Putting a buffer back is a store to memory, no system
//! call. When the ring runs dry, a receive that has bytes for it completes with ENOBUFS
//! (receiving.rs says what the server does then). liburing's io_uring_setup_buf_ring,
//! io_uring_buf_ring_add and io_uring_buf_ring_advance do in C what this module does; the
//! io-uring crate leaves it to the program, and Rust's atomics stand in for liburing's
//! io_uring_smp_store_release.

use std::io;
use std::num::NonZeroUsize;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

use io_uring::types::BufRingEntry;
use io_uring::IoUring;
use nix::sys::mman::{mmap_anonymous, MapFlags, ProtFlags};

/// The ring of provided buffers and the buffers themselves.
pub(crate) struct BufferRing {
    /// The entries the kernel takes buffers from: `count` of them, page-aligned.
    entries: NonNull<BufRingEntry>,
    /// The buffers: `count` of `size` bytes, one after the other.
    buffers: NonNull<u8>,
    /// How many buffers (a power of two, at most 32768).
    count: u16,
    /// The size of each.
    size: u32,
    /// Entries added so far, modulo 2^16: the tail the kernel reads.
    tail: u16,
}

impl BufferRing {
    /// Maps the entries and the buffers, puts every buffer in the ring, and registers it as
    /// buffer group `group` of `ring`.
    pub(crate) fn register(ring: &IoUring, group: u16, count: u16, size: u32) -> io::Result<Self> {
        assert!(count.is_power_of_two() && count <= 32768);
        let entries = map(usize::from(count) * size_of::<BufRingEntry>())?.cast();
        // Anonymous memory: pages are zero and take no room until first written, so a buffer
        // the kernel never fills costs nothing resident.
        let buffers = map(usize::from(count) * size as usize)?.cast();
        let mut buffer_ring = BufferRing {
            entries,
            buffers,
            count,
            size,
            tail: 0,
        };
        for id in 0..count {
            buffer_ring.give_back(id);
        }
        // SAFETY: the entries are mapped for `count` entries, page-aligned as the kernel
        // requires, and never unmapped: they stay valid as long as the ring, which the
        // process's exit destroys.
        unsafe {
            ring.submitter().register_buf_ring_with_flags(
                buffer_ring.entries.as_ptr() as u64,
                count,
                group,
                0,
            )?;
        }
        Ok(buffer_ring)
    }

    /// The `length` bytes the kernel put in buffer `id`, which a CQE just handed over.
    pub(crate) fn filled(&self, id: u16, length: usize) -> &[u8] {
        if id >= self.count {
            return &[];
        }
        let length = length.min(self.size as usize);
        // SAFETY: the buffer lies within the mapping (id < count, length <= size). The
        // kernel handed it over in a CQE, and writes to it no more until `give_back` puts it
        // in the ring again, which takes `&mut self` and so waits until this slice is gone.
        unsafe {
            let start = self
                .buffers
                .as_ptr()
                .add(usize::from(id) * self.size as usize);
            std::slice::from_raw_parts(start, length)
        }
    }

    /// Puts buffer `id` back in the ring, for the kernel to fill again.
    pub(crate) fn give_back(&mut self, id: u16) {
        if id >= self.count {
            return;
        }
        let index = usize::from(self.tail & (self.count - 1));
        let address = self.buffers.as_ptr() as u64 + u64::from(id) * u64::from(self.size);
        // SAFETY: `index` < count, within the mapping. The kernel reads entries only
        // between its head and the tail: this slot is past the tail until the store below.
        // Only address, length and id are written: the first entry's last field is the
        // tail, which the kernel may read meanwhile, and no byte of it changes here.
        unsafe {
            let entry = &mut *self.entries.as_ptr().add(index);
            entry.set_addr(address);
            entry.set_len(self.size);
            entry.set_bid(id);
        }
        self.tail = self.tail.wrapping_add(1);
        // SAFETY: the tail field of the first entry, within the mapping, 2-byte aligned.
        // Release: the kernel that reads the new tail sees the entry written above.
        unsafe {
            let tail = BufRingEntry::tail(self.entries.as_ptr()) as *mut u16;
            AtomicU16::from_ptr(tail).store(self.tail, Ordering::Release);
        }
    }
}

/// `length` bytes of zeroed, page-aligned anonymous memory, never unmapped.
fn map(length: usize) -> io::Result<NonNull<std::ffi::c_void>> {
    let length = NonZeroUsize::new(length).ok_or(io::ErrorKind::InvalidInput)?;
    // SAFETY: a new private anonymous mapping, at an address the kernel chooses: it
    // overlaps nothing of ours.
    let mapped = unsafe {
        mmap_anonymous(
            None,
            length,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        )
    };
    Ok(mapped?)
}
