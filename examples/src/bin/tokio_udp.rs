//! A tokio UDP ingest server over pooled buffers: datagrams are received straight into
//! `ByteBuf<1500>` slots of a `#[slab_cached]` type, handed to tasks as `bytes::Bytes`
//! without a copy, and each slot goes back to its cache when the last `Bytes` clone drops,
//! on whichever worker thread that is.
//!
//! - a **sender** task sends a fixed number of datagrams (64 to 1472 bytes, each with a
//!   sequence number and a checksum) to the receiver's socket, at most `WINDOW` ahead of
//!   the datagrams processed (a semaphore);
//! - the **receiver** task takes a `Datagram` from the pool, receives into its
//!   uninitialised capacity (`recv_buf_from` writes through `bytes::BufMut`: no zeroing, no
//!   `unsafe`), turns the box into `Bytes` (`into_bytes`, zero-copy) and spawns a task;
//! - each **task** splits the `Bytes` into header and payload (two clones of one slot),
//!   checks the checksum, and drops them: the slot returns to the pool there.
//!
//! Both sockets are bound to `127.0.0.1:0`. The receiver stops at the sender's end marker,
//! or after `IDLE` without a datagram once the sender is done, or at a 20 s deadline, so the
//! program stops by itself even when datagrams are dropped.
//!
//! ```sh
//! cargo run -p examples --release --bin tokio_udp            # 100 000 datagrams
//! cargo run -p examples --bin tokio_udp -- --quick           # 2 000 datagrams
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use examples::{human_bytes, print_report, scaled};
use slab_core::{ByteBuf, ByteBuffer, slab_cached};
use tokio::net::UdpSocket;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

slab_core::slab_hooks!(global);

/// A received datagram: a pooled 1500-byte buffer (`#[slab_cached]` picks the slab size).
#[slab_cached]
struct Datagram {
    buf: ByteBuf<1500>,
}

/// Its boxes are `AsRef<[u8]>`, so `Bytes::from_owner` (through `into_bytes`) takes them.
impl ByteBuffer for Datagram {
    fn bytes(&self) -> &[u8] {
        &self.buf
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }
}

/// The largest datagram the sender sends: an Ethernet MTU minus the IPv4 and UDP headers.
const MAX_PAYLOAD: usize = 1472;
/// Datagrams in flight (sent and not yet processed).
const WINDOW: usize = 64;
/// How long the receiver waits for a datagram once the sender is done.
const IDLE: Duration = Duration::from_millis(200);
/// The sequence number of the end marker.
const END: u64 = u64::MAX;

/// FNV-1a, the "processing" of a datagram.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// The payload length of datagram `seq`: 64 to 1472 bytes, varied.
fn payload_len(seq: u64) -> usize {
    64 + usize::try_from(seq.wrapping_mul(2_654_435_761) % 1409).unwrap_or(0)
}

/// Fills `buf` with datagram `seq`: `seq` (8 bytes), a checksum of the rest (4), a pattern.
fn encode(seq: u64, buf: &mut [u8]) {
    for (i, b) in buf.iter_mut().enumerate().skip(12) {
        // Truncation intended: a repeating byte pattern.
        *b = (seq as u8).wrapping_add(i as u8);
    }
    let sum = fnv1a(&buf[12..]);
    buf[..8].copy_from_slice(&seq.to_le_bytes());
    buf[8..12].copy_from_slice(&sum.to_le_bytes());
}

/// Counters shared by the tasks.
#[derive(Default)]
struct Totals {
    sent: AtomicU64,
    received: AtomicU64,
    bytes: AtomicU64,
    corrupt: AtomicU64,
}

/// Checks one datagram: the header and the payload are two `Bytes` of one slot.
fn check(datagram: &Bytes, totals: &Totals) {
    let header = datagram.slice(..12);
    let payload = datagram.slice(12..);
    let mut sum = [0u8; 4];
    sum.copy_from_slice(&header[8..12]);
    if u32::from_le_bytes(sum) != fnv1a(&payload) {
        totals.corrupt.fetch_add(1, Ordering::Relaxed);
    }
    totals.received.fetch_add(1, Ordering::Relaxed);
    totals
        .bytes
        .fetch_add(datagram.len() as u64, Ordering::Relaxed);
}

async fn run(count: u64) -> std::io::Result<(Arc<Totals>, Duration, u64)> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let rx = UdpSocket::bind(loopback).await?;
    let tx = UdpSocket::bind(loopback).await?;
    let rx_addr = rx.local_addr()?;
    assert!(rx_addr.ip().is_loopback() && tx.local_addr()?.ip().is_loopback());
    tx.connect(rx_addr).await?;
    println!(
        "tokio_udp: {count} datagrams of 64..={MAX_PAYLOAD} bytes to {rx_addr} (loopback only), \
         at most {WINDOW} in flight"
    );

    let totals = Arc::new(Totals::default());
    let window = Arc::new(Semaphore::new(WINDOW));
    let sender_done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();

    // Sender: a permit per datagram, given back by the task that processes it (or, for a
    // datagram the kernel dropped, by the timeout below).
    let sender = {
        let (window, totals, done) = (window.clone(), totals.clone(), sender_done.clone());
        tokio::spawn(async move {
            let mut buf = [0u8; MAX_PAYLOAD];
            for seq in 0..count {
                // On a timeout, a datagram in the window was lost: go on without its permit.
                let wait = Duration::from_millis(50);
                if let Ok(Ok(permit)) = tokio::time::timeout(wait, window.acquire()).await {
                    permit.forget();
                }
                let len = payload_len(seq);
                encode(seq, &mut buf[..len]);
                if tx.send(&buf[..len]).await.is_ok() {
                    totals.sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            let _ = tx.send(&END.to_le_bytes()).await; // may be dropped: the receiver times out
            done.store(true, Ordering::Release);
        })
    };

    // Receiver: pooled buffer in, `Bytes` out to a task.
    let mut tasks = JoinSet::new();
    let deadline = started + Duration::from_secs(20);
    let mut allocated = 0u64;
    loop {
        let mut d = Datagram::new_boxed(Datagram {
            buf: ByteBuf::new(),
        });
        allocated += 1;
        let got = tokio::time::timeout(IDLE, rx.recv_buf_from(&mut d.buf)).await;
        match got {
            Ok(Ok((n, _from))) => {
                if n == 8 && d.buf[..] == END.to_le_bytes() {
                    break;
                }
                let datagram: Bytes = d.into_bytes(); // zero-copy: the slot goes with it
                let (totals, window) = (totals.clone(), window.clone());
                tasks.spawn(async move {
                    check(&datagram, &totals);
                    drop(datagram); // the last clone: the slot returns to the pool here
                    window.add_permits(1);
                });
            }
            Ok(Err(e)) => return Err(e),
            // Idle: done if the sender is (its end marker was dropped).
            Err(_) if sender_done.load(Ordering::Acquire) => break,
            Err(_) => {}
        }
        if Instant::now() > deadline {
            println!("receiver: 20 s deadline reached, stopping");
            break;
        }
        // Reap finished tasks as we go, so the set stays small.
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    sender.await.map_err(std::io::Error::other)?;
    Ok((totals, started.elapsed(), allocated))
}

fn main() {
    let count = u64::try_from(scaled(100_000, 2_000)).unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the tokio runtime");
    let (totals, elapsed, allocated) = runtime.block_on(run(count)).expect("UDP over loopback");
    // The worker threads exit with the runtime: their magazines go back to the cache.
    drop(runtime);

    let sent = totals.sent.load(Ordering::Relaxed);
    let received = totals.received.load(Ordering::Relaxed);
    let bytes = totals.bytes.load(Ordering::Relaxed);
    let secs = elapsed.as_secs_f64().max(1e-9);
    #[allow(clippy::cast_precision_loss, reason = "rates need no exact digits")]
    let (pps, mbps) = (received as f64 / secs, bytes as f64 / secs / 1e6);
    println!(
        "datagrams: sent {sent}, received {received}, dropped {}, corrupt {}",
        sent - received.min(sent),
        totals.corrupt.load(Ordering::Relaxed)
    );
    println!(
        "{pps:.0} datagrams/s, {mbps:.1} MB/s over {secs:.3} s; {} of payload",
        human_bytes(usize::try_from(bytes).unwrap_or(usize::MAX))
    );
    println!(
        "{allocated} pooled buffers received into (the last held the end marker); {received} \
         handed to tasks as Bytes, each freed by the task that dropped its last clone"
    );
    print_report();
}
