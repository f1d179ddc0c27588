//! Byte buffers for network code: [`ByteBuf<N>`], a fixed-capacity buffer with a filled
//! length that lives in a slab slot, and [`ByteBuffer`], which gives any box of a value
//! holding bytes `AsRef<[u8]>` (so `bytes::Bytes::from_owner` takes the box as it is).
//! With the `bytes` feature: `SlabBox::into_bytes`, a zero-copy hand-off to
//! `bytes::Bytes`, and `bytes::BufMut` for writing (`tokio`'s `recv_buf_from` receives
//! into the uninitialised capacity through it, without zeroing).
//!
//! # Receiving without zeroing, safely or not
//! A socket API that takes `&mut [u8]` needs initialised bytes. Three ways in:
//! - [`ByteBuf::initialize_unfilled`]: the unfilled capacity as `&mut [u8]`, zeroing only
//!   the bytes never written before (a buffer remembers how far it was ever initialised,
//!   like `tokio::io::ReadBuf`), then [`ByteBuf::advance`] by the count received. Safe; a
//!   fresh buffer pays one `memset` of its capacity, a reused one (after
//!   [`clear`](ByteBuf::clear)) none.
//! - `bytes::BufMut` (feature `bytes`): readers that take a `BufMut`
//!   (`tokio::net::UdpSocket::recv_buf_from`) write into the uninitialised capacity and
//!   advance the length themselves. Safe for the caller, no `memset`.
//! - [`ByteBuf::spare_capacity_mut`] and the `unsafe` [`ByteBuf::set_len`], for a `recv`
//!   that takes `MaybeUninit` bytes: no `memset`, and the caller vouches for the count.
//!
//! This module talks to `boxed` only.

use core::borrow::{Borrow, BorrowMut};
use core::fmt;
use core::hash::{Hash, Hasher};
use core::mem::MaybeUninit;
use core::ops::{Deref, DerefMut};

use crate::boxed::{BoxPool, SlabBox};

/// A byte buffer of capacity `N` with a filled length, like `heapless::Vec<u8, N>`, meant to
/// live in a slab slot: `SlabCache<ByteBuf<1500>>` is a pool of packet buffers. It derefs to
/// the filled bytes (`&[u8]`, `&mut [u8]`); the rest of the capacity is uninitialised until
/// written.
///
/// ```
/// use slab_core::{ByteBuf, SlabCache, SpinLock};
/// slab_core::slab_hooks!(global);
///
/// static PACKETS: SlabCache<ByteBuf<1500>, SpinLock, 65536> = SlabCache::new();
///
/// let mut p = PACKETS.alloc(ByteBuf::new());
/// p.extend_from_slice(b"hello").unwrap();
/// assert_eq!(&p[..], b"hello"); // the filled part
/// assert_eq!((p.len(), p.capacity()), (5, 1500));
///
/// // A `&mut [u8]` reader (std's `UdpSocket::recv_from`, `Read::read`): the unfilled part,
/// // zeroed only where it was never written, then advance by what was read.
/// let n = {
///     let dst = p.initialize_unfilled();
///     dst[..6].copy_from_slice(b", you!");
///     6
/// };
/// p.advance(n);
/// assert_eq!(&p[..], b"hello, you!");
/// ```
#[derive(Clone)]
pub struct ByteBuf<const N: usize> {
    /// Bytes `..len` hold the buffer's contents.
    len: usize,
    /// Bytes `..init` were written at least once (`len <= init <= N`).
    init: usize,
    data: [MaybeUninit<u8>; N],
}

/// The error of a write past the capacity of a [`ByteBuf`]: nothing was written.
///
/// ```
/// use slab_core::{ByteBuf, CapacityError};
/// let mut b = ByteBuf::<2>::new();
/// assert_eq!(b.extend_from_slice(b"abc"), Err(CapacityError));
/// assert_eq!(CapacityError.to_string(), "the byte buffer has no room for the bytes");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityError;

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the byte buffer has no room for the bytes")
    }
}

impl core::error::Error for CapacityError {}

impl<const N: usize> ByteBuf<N> {
    /// An empty buffer. Nothing of the capacity is written.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// const EMPTY: ByteBuf<64> = ByteBuf::new(); // `const`: usable in statics
    /// assert!(EMPTY.is_empty());
    /// ```
    #[must_use]
    #[inline]
    pub const fn new() -> Self {
        ByteBuf {
            len: 0,
            init: 0,
            data: [MaybeUninit::uninit(); N],
        }
    }

    /// The filled bytes.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let b = ByteBuf::<8>::try_from(&b"abc"[..]).unwrap();
    /// assert_eq!(b.as_slice(), b"abc");
    /// ```
    #[inline]
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        let filled = &self.data[..self.len];
        // SAFETY: bytes `..len` are initialised (the field's invariant), and
        // `MaybeUninit<u8>` has the layout of `u8`.
        unsafe { &*(core::ptr::from_ref(filled) as *const [u8]) }
    }

    /// The filled bytes, mutably.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let mut b = ByteBuf::<8>::try_from(&b"abc"[..]).unwrap();
    /// b.as_mut_slice()[0] = b'A';
    /// assert_eq!(&b[..], b"Abc");
    /// ```
    #[inline]
    #[must_use]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        let filled = &mut self.data[..self.len];
        // SAFETY: as `as_slice`; `&mut self` makes the access unique, and any `u8` written
        // keeps them initialised.
        unsafe { &mut *(core::ptr::from_mut(filled) as *mut [u8]) }
    }

    /// The number of filled bytes.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let mut b = ByteBuf::<8>::new();
    /// b.push(1).unwrap();
    /// assert_eq!(b.len(), 1);
    /// ```
    #[inline]
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether no byte is filled.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// assert!(ByteBuf::<8>::new().is_empty());
    /// ```
    #[inline]
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The capacity, `N`.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// assert_eq!(ByteBuf::<1500>::new().capacity(), 1500);
    /// ```
    #[inline]
    #[must_use]
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The unfilled capacity, `N - len()`.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let b = ByteBuf::<8>::try_from(&b"abc"[..]).unwrap();
    /// assert_eq!(b.remaining(), 5);
    /// ```
    #[inline]
    #[must_use]
    pub const fn remaining(&self) -> usize {
        N - self.len
    }

    /// Empties the buffer; the capacity stays initialised as far as it was, so a reused
    /// buffer's [`initialize_unfilled`](Self::initialize_unfilled) zeroes nothing.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let mut b = ByteBuf::<8>::try_from(&b"abc"[..]).unwrap();
    /// b.clear();
    /// assert!(b.is_empty());
    /// ```
    #[inline]
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Shortens the filled part to `len` bytes (no effect if it is shorter already).
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let mut b = ByteBuf::<8>::try_from(&b"abcdef"[..]).unwrap();
    /// b.truncate(2);
    /// b.truncate(5); // no effect
    /// assert_eq!(&b[..], b"ab");
    /// ```
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Appends `bytes`, or writes nothing if they do not fit.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// use slab_core::CapacityError;
    /// let mut b = ByteBuf::<4>::new();
    /// b.extend_from_slice(b"ab").unwrap();
    /// assert_eq!(b.extend_from_slice(b"cde"), Err(CapacityError));
    /// assert_eq!(&b[..], b"ab");
    /// ```
    ///
    /// # Errors
    /// [`CapacityError`] when `bytes` is longer than [`remaining`](Self::remaining).
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> Result<(), CapacityError> {
        let end = self.len.checked_add(bytes.len()).filter(|&e| e <= N);
        let Some(end) = end else {
            return Err(CapacityError);
        };
        for (d, &b) in self.data[self.len..end].iter_mut().zip(bytes) {
            d.write(b);
        }
        self.len = end;
        self.init = self.init.max(end);
        Ok(())
    }

    /// Appends one byte, or hands it back if the buffer is full.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let mut b = ByteBuf::<1>::new();
    /// assert_eq!(b.push(7), Ok(()));
    /// assert_eq!(b.push(8), Err(8));
    /// ```
    ///
    /// # Errors
    /// The byte, when the buffer is full.
    pub fn push(&mut self, byte: u8) -> Result<(), u8> {
        match self.data.get_mut(self.len) {
            Some(d) => {
                d.write(byte);
                self.len += 1;
                self.init = self.init.max(self.len);
                Ok(())
            }
            None => Err(byte),
        }
    }

    /// Sets the filled length to `new_len`, filling new bytes with `value` (like
    /// `Vec::resize`).
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let mut b = ByteBuf::<8>::try_from(&b"ab"[..]).unwrap();
    /// b.resize(4, b'.');
    /// assert_eq!(&b[..], b"ab..");
    /// b.resize(1, 0);
    /// assert_eq!(&b[..], b"a");
    /// ```
    ///
    /// # Panics
    /// If `new_len > N`.
    pub fn resize(&mut self, new_len: usize, value: u8) {
        assert!(
            new_len <= N,
            "slab_core: ByteBuf::resize to {new_len} bytes, over its capacity {N}"
        );
        if new_len > self.len {
            for d in &mut self.data[self.len..new_len] {
                d.write(value);
            }
            self.init = self.init.max(new_len);
        }
        self.len = new_len;
    }

    /// The unfilled capacity as initialised bytes, for readers that take `&mut [u8]`:
    /// bytes never written before are zeroed (once per buffer: the buffer remembers how
    /// far it was initialised); bytes written before keep what they held. Follow with
    /// [`advance`](Self::advance) by the count the reader wrote.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let mut b = ByteBuf::<8>::new();
    /// let dst = b.initialize_unfilled();
    /// assert_eq!(dst, [0; 8]);
    /// dst[..3].copy_from_slice(b"abc");
    /// b.advance(3);
    /// assert_eq!(&b[..], b"abc");
    /// ```
    pub fn initialize_unfilled(&mut self) -> &mut [u8] {
        for d in &mut self.data[self.init..] {
            d.write(0);
        }
        self.init = N;
        let unfilled = &mut self.data[self.len..];
        // SAFETY: every byte from `len` on was just initialised (`init == N`), and
        // `MaybeUninit<u8>` has the layout of `u8`; `&mut self` makes the access unique.
        unsafe { &mut *(core::ptr::from_mut(unfilled) as *mut [u8]) }
    }

    /// Adds `n` bytes of the initialised unfilled capacity to the filled part (after a
    /// reader wrote them through [`initialize_unfilled`](Self::initialize_unfilled)).
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let mut b = ByteBuf::<8>::new();
    /// let n = std::io::Read::read(&mut &b"in"[..], b.initialize_unfilled()).unwrap();
    /// b.advance(n);
    /// assert_eq!(&b[..], b"in");
    /// ```
    ///
    /// # Panics
    /// If fewer than `n` bytes past the filled part are initialised.
    #[inline]
    pub fn advance(&mut self, n: usize) {
        let end = self.len.checked_add(n).filter(|&e| e <= self.init);
        match end {
            Some(end) => self.len = end,
            None => panic!(
                "slab_core: ByteBuf::advance({n}) past the initialised bytes ({} filled, {} initialised)",
                self.len, self.init
            ),
        }
    }

    /// The unfilled capacity, uninitialised, for readers that take `MaybeUninit` bytes;
    /// follow with [`set_len`](Self::set_len).
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let mut b = ByteBuf::<8>::try_from(&b"ab"[..]).unwrap();
    /// assert_eq!(b.spare_capacity_mut().len(), 6); // uninitialised: see `set_len`
    /// ```
    #[inline]
    pub fn spare_capacity_mut(&mut self) -> &mut [MaybeUninit<u8>] {
        &mut self.data[self.len..]
    }

    /// Sets the filled length.
    ///
    /// ```
    /// use slab_core::ByteBuf;
    /// let mut b = ByteBuf::<16>::new();
    /// let spare = b.spare_capacity_mut();
    /// for (d, &s) in spare.iter_mut().zip(b"raw") {
    ///     d.write(s);
    /// }
    /// // SAFETY: the first 3 bytes were written just above.
    /// unsafe { b.set_len(3) };
    /// assert_eq!(&b[..], b"raw");
    /// ```
    ///
    /// # Safety
    /// `new_len <= N`, and every byte below `new_len` was initialised (through
    /// [`spare_capacity_mut`](Self::spare_capacity_mut) or any other way).
    #[inline]
    pub unsafe fn set_len(&mut self, new_len: usize) {
        debug_assert!(new_len <= N);
        self.len = new_len;
        self.init = self.init.max(new_len);
    }
}

impl<const N: usize> Default for ByteBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Deref for ByteBuf<N> {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl<const N: usize> DerefMut for ByteBuf<N> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl<const N: usize> AsRef<[u8]> for ByteBuf<N> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl<const N: usize> AsMut<[u8]> for ByteBuf<N> {
    fn as_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl<const N: usize> Borrow<[u8]> for ByteBuf<N> {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl<const N: usize> BorrowMut<[u8]> for ByteBuf<N> {
    fn borrow_mut(&mut self) -> &mut [u8] {
        self
    }
}

impl<const N: usize> fmt::Debug for ByteBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_slice(), f)
    }
}

impl<const N: usize> PartialEq for ByteBuf<N> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<const N: usize> Eq for ByteBuf<N> {}

impl<const N: usize> PartialEq<[u8]> for ByteBuf<N> {
    fn eq(&self, other: &[u8]) -> bool {
        self.as_slice() == other
    }
}

impl<const N: usize> Hash for ByteBuf<N> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_slice().hash(state);
    }
}

impl<const N: usize> TryFrom<&[u8]> for ByteBuf<N> {
    type Error = CapacityError;

    /// A buffer filled with `bytes`.
    fn try_from(bytes: &[u8]) -> Result<Self, CapacityError> {
        let mut b = Self::new();
        b.extend_from_slice(bytes)?;
        Ok(b)
    }
}

#[cfg(feature = "std")]
impl<const N: usize> std::io::Write for ByteBuf<N> {
    /// Appends as many bytes as fit.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.remaining());
        let _ = self.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A value that holds bytes, for which its boxes are `AsRef<[u8]>` and `AsMut<[u8]>`:
/// [`ByteBuf`], or a `#[slab_cached]` packet type of your own. The orphan rule keeps you from
/// writing `impl AsRef<[u8]> for Boxed<Packet>`; `impl ByteBuffer for Packet` gives it, so
/// `bytes::Bytes::from_owner(packet_box)` and `SlabBox::into_bytes` (feature `bytes`) take
/// the box as it is.
///
/// ```
/// use std::time::Instant;
/// use slab_core::{slab_cached, ByteBuf, ByteBuffer};
/// slab_core::slab_hooks!(global);
///
/// #[slab_cached]
/// struct Packet { at: Option<Instant>, buf: ByteBuf<1500> }
///
/// impl ByteBuffer for Packet {
///     fn bytes(&self) -> &[u8] { &self.buf }
///     fn bytes_mut(&mut self) -> &mut [u8] { &mut self.buf }
/// }
///
/// let mut p = Packet::new_boxed(Packet { at: None, buf: ByteBuf::new() });
/// p.buf.extend_from_slice(b"ping").unwrap();
/// fn send(datagram: impl AsRef<[u8]>) -> usize { datagram.as_ref().len() }
/// assert_eq!(send(p), 4);
/// ```
pub trait ByteBuffer {
    /// The bytes a box of this value stands for.
    fn bytes(&self) -> &[u8];
    /// The same bytes, mutably.
    fn bytes_mut(&mut self) -> &mut [u8];
}

impl<const N: usize> ByteBuffer for ByteBuf<N> {
    #[inline]
    fn bytes(&self) -> &[u8] {
        self
    }
    #[inline]
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

/// The bytes of the boxed value (`[u8]` itself never implements [`ByteBuffer`], so this
/// does not overlap `AsRef<T>`).
impl<T: ?Sized + ByteBuffer, C: BoxPool> AsRef<[u8]> for SlabBox<T, C> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        (**self).bytes()
    }
}

/// The bytes of the boxed value, mutably.
impl<T: ?Sized + ByteBuffer, C: BoxPool> AsMut<[u8]> for SlabBox<T, C> {
    #[inline]
    fn as_mut(&mut self) -> &mut [u8] {
        (**self).bytes_mut()
    }
}

#[cfg(feature = "bytes")]
mod bytes_impls {
    use core::mem::MaybeUninit;

    use bytes::buf::UninitSlice;
    use bytes::{BufMut, Bytes};

    use super::{ByteBuf, ByteBuffer};
    use crate::boxed::{BoxPool, SlabBox};

    impl<T: ByteBuffer + 'static, C: BoxPool + 'static> SlabBox<T, C>
    where
        Self: Send,
    {
        /// Hands the box to `bytes::Bytes` without copying: the `Bytes` (and its clones and
        /// slices) read the bytes in the slot, and the slot goes back to its cache when the
        /// last of them is dropped, on whichever thread that is. One `Bytes::from_owner`
        /// (which keeps the box, and a count, in one small heap block).
        ///
        /// ```
        /// use slab_core::{ByteBuf, SlabCache, SpinLock};
        /// slab_core::slab_hooks!(global);
        /// static BUFS: SlabCache<ByteBuf<1024>, SpinLock, 16384> = SlabCache::new();
        ///
        /// let mut b = BUFS.alloc(ByteBuf::new());
        /// b.extend_from_slice(b"GET / HTTP/1.1").unwrap();
        /// let bytes = b.into_bytes();
        /// let method = bytes.slice(..3);
        /// std::thread::spawn(move || assert_eq!(&method[..], b"GET")).join().unwrap();
        /// assert_eq!(BUFS.stats().in_use, 1); // `bytes` still holds the slot
        /// drop(bytes);
        /// assert_eq!(BUFS.stats().in_use, 0);
        /// ```
        #[must_use]
        pub fn into_bytes(self) -> Bytes {
            Bytes::from_owner(self)
        }
    }

    /// [`SlabBox::into_bytes`].
    impl<T: ByteBuffer + 'static, C: BoxPool + 'static> From<SlabBox<T, C>> for Bytes
    where
        SlabBox<T, C>: Send,
    {
        fn from(b: SlabBox<T, C>) -> Bytes {
            b.into_bytes()
        }
    }

    // SAFETY: `chunk_mut` is the unfilled capacity (`remaining_mut` bytes, from the end
    // of the filled part), and `advance_mut` extends the filled part over bytes that the
    // caller initialised there (`BufMut`'s contract), so bytes `..len` stay initialised.
    unsafe impl<const N: usize> BufMut for ByteBuf<N> {
        #[inline]
        fn remaining_mut(&self) -> usize {
            self.remaining()
        }

        #[inline]
        unsafe fn advance_mut(&mut self, cnt: usize) {
            let remaining = self.remaining();
            assert!(
                cnt <= remaining,
                "slab_core: advance_mut({cnt}) past the capacity ({remaining} left)"
            );
            let len = self.len() + cnt;
            // SAFETY: `len <= N`, and the caller initialised the `cnt` bytes after the
            // filled part (`advance_mut`'s contract).
            unsafe { self.set_len(len) };
        }

        #[inline]
        fn chunk_mut(&mut self) -> &mut UninitSlice {
            let spare: &mut [MaybeUninit<u8>] = self.spare_capacity_mut();
            UninitSlice::uninit(spare)
        }

        fn put_slice(&mut self, src: &[u8]) {
            if self.extend_from_slice(src).is_err() {
                panic!(
                    "slab_core: put_slice of {} bytes into a ByteBuf with {} left",
                    src.len(),
                    self.remaining()
                );
            }
        }
    }

    // SAFETY: forwards to the boxed `ByteBuf`'s `BufMut`, whose contract it keeps.
    unsafe impl<const N: usize, C: BoxPool> BufMut for SlabBox<ByteBuf<N>, C> {
        #[inline]
        fn remaining_mut(&self) -> usize {
            (**self).remaining_mut()
        }

        #[inline]
        unsafe fn advance_mut(&mut self, cnt: usize) {
            // SAFETY: the caller's contract is the same.
            unsafe { (**self).advance_mut(cnt) }
        }

        #[inline]
        fn chunk_mut(&mut self) -> &mut UninitSlice {
            (**self).chunk_mut()
        }

        fn put_slice(&mut self, src: &[u8]) {
            (**self).put_slice(src);
        }
    }
}
