//! Network packets: a real UDP exchange over 127.0.0.1 into pooled 1500-byte buffers.
//!
//! Three threads and a bounded channel:
//! - the **sender** sends a fixed number of datagrams (64 to 1472 bytes, each carrying a
//!   sequence number and a checksum) to the receiver's socket, at most 64 ahead of what
//!   the receiver has read (`--flood` sends as fast as it can);
//! - the **receiver** takes a `Packet` from the pool (a `ByteBuf<1500>` with a timestamp,
//!   no `unsafe` and no wrapper), `recv`s straight into the pooled buffer's unfilled
//!   capacity (`initialize_unfilled`: std's `recv` wants `&mut [u8]`, so a fresh buffer is
//!   zeroed once, in place), and hands the box to the worker;
//! - the **worker** checks each packet and drops it, so every packet is freed on another
//!   thread than the one that allocated it.
//!
//! Both sockets are bound to `127.0.0.1:0`; nothing leaves the loopback interface. The
//! receiver polls with a read timeout, so the program stops by itself even when datagrams
//! are dropped (the kernel drops them when the receiver's socket buffer is full). It prints
//! packets per second, drops and the pool's stats.
//!
//! ```sh
//! cargo run -p examples --release --bin packets      # 200 000 datagrams, about a second
//! cargo run -p examples --bin packets -- --quick     # 5 000 datagrams
//! cargo run -p examples --release --bin packets -- --flood   # no pacing: see the drops
//! ```

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use examples::{human_bytes, print_report, scaled};
use slab_core::{Boxed, ByteBuf, ByteBuffer, slab_cached};

slab_core::slab_hooks!(global);

/// The largest datagram the sender sends: an Ethernet MTU minus the IPv4 and UDP headers.
const MAX_PAYLOAD: usize = 1472;

/// A received datagram in a pooled buffer (1.5 KiB; `#[slab_cached]` picks the slab size).
#[slab_cached]
struct Packet {
    /// When the receiver got it.
    received_at: Option<Instant>,
    /// The datagram: its length is the buffer's filled length.
    data: ByteBuf<1500>,
}

/// A box of a `Packet` is `AsRef<[u8]>` (its datagram), for any API that takes bytes.
impl ByteBuffer for Packet {
    fn bytes(&self) -> &[u8] {
        &self.data
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.data
    }
}

/// Datagrams the sender may send ahead of the receiver (about 150 KiB of socket buffer).
const WINDOW: u64 = 64;
/// How long the sender waits for credit before it counts the missing datagrams as lost.
const CREDIT_TIMEOUT: Duration = Duration::from_millis(20);

/// The sequence number that tells the receiver the sender is done.
const END: u64 = u64::MAX;

/// FNV-1a, the "processing" of a packet.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The payload length of datagram `seq`: 64 to 1472 bytes, varied.
fn payload_len(seq: u64) -> usize {
    64 + usize::try_from(seq.wrapping_mul(2_654_435_761) % 1409).unwrap_or(0)
}

/// Fills `buf` with datagram `seq`: `seq` (8 bytes), a checksum of the rest (4 bytes), and a
/// pattern.
fn encode(seq: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate().skip(12) {
        // Truncation intended: a repeating byte pattern.
        *b = (seq as u8).wrapping_add(i as u8);
    }
    let sum = fnv1a(&buf[12..]);
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    buf[8..12].copy_from_slice(&sum.to_le_bytes());
}

/// An empty packet from the pool. Nothing of its buffer is written yet.
fn fresh_packet() -> Boxed<Packet> {
    Packet::new_boxed(Packet {
        received_at: None,
        data: ByteBuf::new(),
    })
}

/// Counters of one run.
#[derive(Default, Debug)]
struct Totals {
    sent: u64,
    received: u64,
    bytes: u64,
    corrupt: u64,
    out_of_order: u64,
    latency_sum: Duration,
}

fn main() {
    let count = u64::try_from(scaled(200_000, 5_000)).unwrap_or(5_000);
    let flood = std::env::args().any(|a| a == "--flood");
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let rx = UdpSocket::bind(loopback).expect("bind the receiver to 127.0.0.1:0");
    let tx = UdpSocket::bind(loopback).expect("bind the sender to 127.0.0.1:0");
    let rx_addr = rx.local_addr().expect("receiver address");
    assert!(rx_addr.ip().is_loopback() && tx.local_addr().is_ok_and(|a| a.ip().is_loopback()));
    tx.connect(rx_addr)
        .expect("connect the sender to the receiver");
    rx.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("set the receiver's read timeout");
    println!(
        "packets: {count} datagrams of 64..={MAX_PAYLOAD} bytes from {} to {rx_addr} (loopback only)",
        tx.local_addr()
            .map_or_else(|_| "?".into(), |a| a.to_string())
    );
    let geometry = Packet::slab_cache().stats(); // allocates nothing
    println!(
        "pool: Packet is {} bytes, {} per {}-byte slab; receiver -> bounded channel (256) -> worker",
        geometry.object_size, geometry.objects_per_slab, geometry.slab_size
    );
    if flood {
        println!("sender: --flood, no pacing (expect kernel drops)");
    } else {
        println!("sender: at most {WINDOW} datagrams ahead of the receiver (--flood to disable)");
    }

    let sender_done = AtomicBool::new(false);
    let sent = AtomicU64::new(0);
    let rx_count = AtomicU64::new(0);
    let started = Instant::now();
    let (to_worker, from_rx) = mpsc::sync_channel::<Boxed<Packet>>(256);

    let (totals, rx_allocs, rx_elapsed) = thread::scope(|s| {
        // Sender: at most WINDOW datagrams ahead of the receiver (credit-based pacing, as
        // a real protocol would do), so the kernel's socket buffer rarely overflows. A
        // datagram lost anyway gives its credit back after CREDIT_TIMEOUT. `--flood`
        // sends without pacing: then the kernel drops whatever the receiver cannot take.
        s.spawn(|| {
            let mut buf = [0u8; MAX_PAYLOAD];
            let mut lost_credit = 0u64;
            for seq in 0..count {
                let waiting = Instant::now();
                loop {
                    let got = rx_count.load(Ordering::Acquire);
                    if flood || seq < got + WINDOW + lost_credit {
                        break;
                    }
                    if waiting.elapsed() > CREDIT_TIMEOUT {
                        // Datagrams in the window were lost: stop waiting for them.
                        lost_credit = seq + 1 - got - WINDOW;
                        break;
                    }
                    thread::yield_now();
                }
                let len = payload_len(seq);
                encode(seq, &mut buf[..len]);
                if tx.send(&buf[..len]).is_ok() {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            // The end marker may be dropped too; the receiver's timeout covers that.
            let _ = tx.send(&END.to_le_bytes());
            sender_done.store(true, Ordering::Release);
        });

        // Receiver: recv straight into pooled buffers, hand them to the worker.
        let receiver = s.spawn(|| {
            let mut allocs = 0u64;
            let mut packet = fresh_packet();
            allocs += 1;
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match rx.recv(packet.data.initialize_unfilled()) {
                    Ok(n) => {
                        packet.data.advance(n);
                        if packet.data[..] == END.to_le_bytes() {
                            break;
                        }
                        rx_count.fetch_add(1, Ordering::Release);
                        packet.received_at = Some(Instant::now());
                        let full = std::mem::replace(&mut packet, fresh_packet());
                        allocs += 1;
                        if to_worker.send(full).is_err() {
                            break;
                        }
                    }
                    // A timeout: stop if the sender is done (its end marker was dropped).
                    Err(_) if sender_done.load(Ordering::Acquire) => break,
                    Err(_) => {}
                }
                if Instant::now() > deadline {
                    println!("receiver: 20 s deadline reached, stopping");
                    break;
                }
            }
            drop(packet); // the spare buffer goes back to the pool
            drop(to_worker); // closes the channel: the worker finishes
            (allocs, started.elapsed())
        });

        // Worker: check, account, free (on this thread, not the receiver's).
        let worker = s.spawn(move || {
            let mut t = Totals::default();
            let mut expected = 0u64;
            for p in from_rx {
                let data: &[u8] = p.as_ref(); // the filled bytes, through `ByteBuffer`
                let mut seq = [0u8; 8];
                let mut sum = [0u8; 4];
                seq.copy_from_slice(&data[..8]);
                sum.copy_from_slice(&data[8..12]);
                let seq = u64::from_le_bytes(seq);
                if u32::from_le_bytes(sum) != fnv1a(&data[12..]) {
                    t.corrupt += 1;
                }
                if seq < expected {
                    t.out_of_order += 1;
                }
                expected = seq + 1;
                t.received += 1;
                t.bytes += data.len() as u64;
                if let Some(at) = p.received_at {
                    t.latency_sum += at.elapsed();
                }
                // `p` is dropped here: its slot goes back to the pool from the worker.
            }
            t
        });

        let (allocs, elapsed) = receiver.join().expect("receiver panicked");
        let mut t = worker.join().expect("worker panicked");
        t.sent = sent.load(Ordering::Relaxed);
        (t, allocs, elapsed)
    });

    let secs = rx_elapsed.as_secs_f64().max(1e-9);
    let dropped = totals.sent - totals.received;
    #[allow(
        clippy::cast_precision_loss,
        reason = "rates and percentages need no exact digits"
    )]
    let (pps, mbps, drop_pct, latency_us) = (
        totals.received as f64 / secs,
        totals.bytes as f64 / secs / 1e6,
        dropped as f64 * 100.0 / (totals.sent.max(1)) as f64,
        totals.latency_sum.as_secs_f64() * 1e6 / (totals.received.max(1)) as f64,
    );
    println!(
        "sent {}, received {}, dropped {dropped} ({drop_pct:.2}%), corrupt {}, out of order {}",
        totals.sent, totals.received, totals.corrupt, totals.out_of_order
    );
    println!(
        "{pps:.0} packets/s, {mbps:.1} MB/s over {:.3} s; {} of payload; mean queue latency {latency_us:.1} us",
        secs,
        human_bytes(usize::try_from(totals.bytes).unwrap_or(usize::MAX))
    );
    println!(
        "{rx_allocs} buffers allocated on the receiver thread, {} freed on the worker thread \
         (+1 spare freed by the receiver)",
        totals.received
    );
    print_report();
}
