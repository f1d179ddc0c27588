//! The peers of the `Arc` and `bytes` rows (issue 18): a heapless `arc_pool!` of 64-byte
//! objects, our arc caches (a `#[slab_cached]` type's and a runtime one), and pooled
//! 1500-byte buffers for the hand-off to `bytes::Bytes` (a `#[slab_cached]` type and a
//! runtime cache of `ByteBuf<1500>`).

use slab_core::{ArcInner, ByteBuf, ByteBuffer, SlabCache, SpinLock, slab_cached};

use crate::{OURS_SLAB_64, OURS_SLAB_PACKET, Obj64};

/// The heapless arc pool of 64-byte objects.
mod heapless_arcs {
    #![allow(missing_docs, unreachable_pub)]
    heapless::arc_pool!(Arc64: crate::Obj64);
}
pub use heapless_arcs::Arc64 as HeaplessArc64;

/// Gives the heapless arc pool `blocks` more blocks (a leaked array standing in for a
/// `static`). Call once, before the benchmark.
pub fn heapless_arc_blocks(blocks: usize) {
    use heapless::pool::arc::ArcBlock;
    let v: Vec<ArcBlock<Obj64>> = (0..blocks).map(|_| ArcBlock::new()).collect();
    for block in Vec::leak(v) {
        HeaplessArc64.manage(block);
    }
}

/// A `#[slab_cached]` 64-byte object: `ArcObj64::new_arc` uses its arc cache.
#[slab_cached]
pub struct ArcObj64(pub Obj64);

/// The runtime cache of arcs of 64-byte objects.
pub static OURS_ARC_64: SlabCache<ArcInner<Obj64>, SpinLock, OURS_SLAB_64> = SlabCache::new();

/// A pooled 1500-byte buffer of a `#[slab_cached]` type.
#[slab_cached]
pub struct PooledBuf(pub ByteBuf<1500>);

impl ByteBuffer for PooledBuf {
    fn bytes(&self) -> &[u8] {
        &self.0
    }
    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }
}

/// The runtime cache of 1500-byte buffers.
pub static OURS_BUFS: SlabCache<ByteBuf<1500>, SpinLock, OURS_SLAB_PACKET> = SlabCache::new();
