//! Other attributes and derives before or after `#[slab_cached]` keep working.
use slab_core::slab_cached;

slab_core::slab_hooks!(global);

/// Documented, derived before.
#[derive(Debug, Clone, PartialEq, Default)]
#[slab_cached(size = 4096)]
struct Before {
    x: u32,
}

/// Derived after.
#[slab_cached]
#[derive(Debug, Clone, PartialEq, Default)]
#[repr(C)]
struct After {
    x: u32,
}

#[cfg_attr(all(), derive(Debug))]
#[slab_cached]
#[allow(dead_code)]
struct Both {
    x: u32,
    unused: u8,
}

fn main() {
    let a = Before::new_boxed(Before::default());
    let b = After::new_boxed(After { x: 2 });
    // A derived `Clone` on the type: the box's clone is a box in a new slot.
    assert_eq!(*a.clone(), Before { x: 0 });
    assert_eq!(format!("{:?}", *b), "After { x: 2 }");
    assert_eq!(Both::new_boxed(Both { x: 3, unused: 0 }).x, 3);
}
