//! `SlabCached` is an `unsafe trait`: safe code cannot implement it by hand (a hand-written
//! impl could hand out a different cache on each call); `#[slab_cached]` is the way.
use slab_core::{SlabCache, SlabCached};

slab_core::slab_hooks!(global);

struct Mine(u64);

impl SlabCached for Mine {
    type Cache = SlabCache<Mine>;
    fn slab_cache() -> &'static SlabCache<Mine> {
        Box::leak(Box::new(SlabCache::new()))
    }
    fn __magazines() -> &'static std::thread::LocalKey<slab_core::__private::Magazines<Mine, slab_core::SpinLock, 4096>> {
        todo!()
    }
}

fn main() {}
