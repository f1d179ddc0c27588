//! Byte buffers: `ByteBuf`'s filled length, its once-only zeroing for `&mut [u8]` readers,
//! `AsRef<[u8]>` on boxes (for `ByteBuf` and for a user's type through `ByteBuffer`), a
//! real UDP receive on 127.0.0.1, and with the `bytes` feature the zero-copy hand-off to
//! `Bytes` (the slot goes back with the last clone, on any thread) and `BufMut`.

use std::io::Write;

use slab_core::{ByteBuf, ByteBuffer, CapacityError, SlabCache, SpinLock, slab_cached};

slab_core::slab_hooks!(global);

type Bufs = SlabCache<ByteBuf<1500>, SpinLock, 16384>;

#[test]
fn a_buffer_fills_up_to_its_capacity_and_no_further() {
    let mut b = ByteBuf::<8>::new();
    assert!(b.is_empty());
    b.extend_from_slice(b"abc").unwrap();
    assert_eq!(b.push(b'd'), Ok(()));
    assert_eq!(b.extend_from_slice(b"12345"), Err(CapacityError));
    assert_eq!(&b[..], b"abcd", "nothing written by a failed extend");
    b.resize(8, b'z');
    assert_eq!(&b[..], b"abcdzzzz");
    assert_eq!(b.push(b'!'), Err(b'!'));
    b[0] = b'A';
    b.truncate(2);
    assert_eq!(b.as_slice(), b"Ab");
    assert_eq!(b.remaining(), 6);
    assert_eq!(ByteBuf::<4>::try_from(&b"toolong"[..]), Err(CapacityError));
    assert_eq!(
        format!("{:?}", ByteBuf::<4>::try_from(&b"ok"[..]).unwrap()),
        "[111, 107]"
    );
    let mut w = ByteBuf::<4>::new();
    assert_eq!(w.write(b"hello").unwrap(), 4);
    assert_eq!(&w[..], b"hell");
}

#[test]
fn initialize_unfilled_zeroes_only_bytes_never_written() {
    let mut b = ByteBuf::<16>::new();
    assert_eq!(b.initialize_unfilled(), [0; 16]);
    b.initialize_unfilled()[..4].copy_from_slice(b"data");
    b.advance(4);
    assert_eq!(&b[..], b"data");
    b.clear();
    // Reused: the old bytes are still there, nothing was zeroed again.
    assert_eq!(&b.initialize_unfilled()[..4], b"data");
    b.advance(16);
    assert_eq!(b.len(), 16);
    let r = std::panic::catch_unwind(move || {
        let mut fresh = ByteBuf::<16>::new();
        fresh.advance(1); // nothing is initialised yet
    });
    assert!(r.is_err());
}

#[test]
fn spare_capacity_and_set_len_skip_the_zeroing() {
    let mut b = ByteBuf::<32>::new();
    b.extend_from_slice(b"head:").unwrap();
    let spare = b.spare_capacity_mut();
    assert_eq!(spare.len(), 27);
    for (d, &s) in spare.iter_mut().zip(b"tail") {
        d.write(s);
    }
    // SAFETY: the 4 bytes after the filled part were written just above.
    unsafe { b.set_len(9) };
    assert_eq!(&b[..], b"head:tail");
}

#[test]
fn boxes_of_buffers_are_byte_slices() {
    let cache = Bufs::new();
    let mut b = cache.alloc(ByteBuf::new());
    b.extend_from_slice(b"pooled").unwrap();
    fn takes(bytes: impl AsRef<[u8]>) -> Vec<u8> {
        bytes.as_ref().to_vec()
    }
    AsMut::<[u8]>::as_mut(&mut b)[0] = b'P';
    assert_eq!(takes(&*b), b"Pooled");
    assert_eq!(takes(b), b"Pooled");
    assert_eq!(cache.stats().in_use, 0);
}

/// A packet type of the user's, with a header and a buffer.
#[slab_cached]
struct Packet {
    port: u16,
    buf: ByteBuf<1500>,
}

impl ByteBuffer for Packet {
    fn bytes(&self) -> &[u8] {
        &self.buf
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }
}

#[test]
fn a_user_s_packet_type_gives_its_boxes_as_ref_bytes() {
    let mut p = Packet::new_boxed(Packet {
        port: 9,
        buf: ByteBuf::new(),
    });
    p.buf.extend_from_slice(&[1, 2, 3]).unwrap();
    assert_eq!(p.port, 9);
    assert_eq!(AsRef::<[u8]>::as_ref(&p), [1, 2, 3]);
}

#[cfg(not(miri))]
#[test]
fn a_udp_datagram_lands_in_a_pooled_buffer() {
    use std::net::UdpSocket;
    let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    rx.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    tx.send_to(b"over loopback", rx.local_addr().unwrap())
        .unwrap();
    let cache = Bufs::new();
    let mut b = cache.alloc(ByteBuf::new());
    let (n, from) = rx.recv_from(b.initialize_unfilled()).unwrap();
    b.advance(n);
    assert_eq!(from, tx.local_addr().unwrap());
    assert_eq!(&b[..], b"over loopback");
    let sent = tx.send_to(&b, rx.local_addr().unwrap()).unwrap();
    assert_eq!(sent, n);
}

#[cfg(feature = "bytes")]
mod with_bytes {
    use bytes::{BufMut, Bytes};

    use super::*;

    #[test]
    fn into_bytes_shares_the_slot_until_the_last_clone_drops_on_any_thread() {
        let cache = Bufs::new();
        let mut b = cache.alloc(ByteBuf::new());
        b.extend_from_slice(b"zero-copy payload").unwrap();
        let in_slot = b.as_ptr();
        let bytes = b.into_bytes();
        assert_eq!(bytes.as_ptr(), in_slot, "no copy");
        let word = bytes.slice(5..9);
        let clones: Vec<Bytes> = (0..3).map(|_| bytes.clone()).collect();
        drop(bytes);
        assert_eq!(cache.stats().in_use, 1);
        let t = std::thread::spawn(move || {
            assert!(clones.iter().all(|c| &c[..] == b"zero-copy payload"));
            drop(clones);
            &word[..] == b"copy"
        });
        assert!(t.join().unwrap());
        assert_eq!(cache.stats().in_use, 0, "the last clone gave the slot back");
    }

    #[test]
    fn a_user_s_packet_box_becomes_bytes_too() {
        let mut p = Packet::new_boxed(Packet {
            port: 1,
            buf: ByteBuf::new(),
        });
        p.buf.put_slice(b"typed");
        let bytes: Bytes = p.into();
        assert_eq!(&bytes[..], b"typed");
    }

    #[test]
    fn buf_mut_writes_into_the_uninitialised_capacity() {
        let cache = Bufs::new();
        let mut b = cache.alloc(ByteBuf::new());
        b.put_u16(0xabcd);
        b.put_slice(b"xy");
        assert_eq!(b.remaining_mut(), 1500 - 4);
        let chunk = b.chunk_mut();
        chunk.write_byte(0, b'!');
        // SAFETY: one byte of the chunk was written just above.
        unsafe { b.advance_mut(1) };
        assert_eq!(&b[..], [0xab, 0xcd, b'x', b'y', b'!']);
        let mut inner = ByteBuf::<4>::new();
        inner.put_u8(1);
        assert_eq!(inner.remaining_mut(), 3);
        let r = std::panic::catch_unwind(move || inner.put_slice(b"toolong"));
        assert!(r.is_err());
    }
}
