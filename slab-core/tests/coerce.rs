//! Trait objects from typed boxes: `coerce!` into `dyn Trait` (keeping the pool or erasing
//! it), drops through the vtable that return each slot to its own cache, from any thread,
//! also when the destructor panics. The values carry padding (`Tagged`), so Miri checks that
//! nothing reads it.

use std::any::Any;
use std::fmt::Debug;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

use slab_core::{Erased, SlabBox, SlabCache, TypePool, coerce, slab_cached};

slab_core::slab_hooks!(global);

/// Drops seen, per test (each test uses its own counter).
static DROPS_A: AtomicUsize = AtomicUsize::new(0);
static DROPS_B: AtomicUsize = AtomicUsize::new(0);

trait Entity: Send {
    fn tick(&mut self) -> u32;
    fn kind(&self) -> &'static str;
}
trait Named: Entity {
    fn name(&self) -> String;
}

/// Padding at bytes 1..4 and 10..16 (`repr(C)`).
#[repr(C)]
#[derive(Debug, Clone, PartialEq)]
struct Tagged {
    tag: u8,
    hp: u32,
    level: u16,
    xp: u64,
}

#[slab_cached]
#[derive(Debug)]
struct Npc {
    t: Tagged,
    counter: &'static AtomicUsize,
}
impl Drop for Npc {
    fn drop(&mut self) {
        self.counter.fetch_add(1, Ordering::Relaxed);
    }
}
impl Entity for Npc {
    fn tick(&mut self) -> u32 {
        self.t.hp -= 1;
        self.t.hp
    }
    fn kind(&self) -> &'static str {
        "npc"
    }
}
impl Named for Npc {
    fn name(&self) -> String {
        format!("npc {}", self.t.tag)
    }
}

#[slab_cached]
struct Bullet(Tagged);
impl Entity for Bullet {
    fn tick(&mut self) -> u32 {
        self.0.level += 1;
        u32::from(self.0.level)
    }
    fn kind(&self) -> &'static str {
        "bullet"
    }
}

fn tagged(tag: u8) -> Tagged {
    Tagged {
        tag,
        hp: 10,
        level: 0,
        xp: 99,
    }
}

#[test]
fn heterogeneous_boxes_drop_through_the_vtable_into_their_own_caches() {
    let runtime: SlabCache<Bullet, slab_core::TicketLock> = SlabCache::new();
    let mut world: Vec<SlabBox<dyn Entity, Erased>> = Vec::new();
    for i in 0..40u8 {
        world.push(coerce!(Npc::new_boxed(Npc {
            t: tagged(i),
            counter: &DROPS_A
        })));
        world.push(coerce!(Bullet::new_boxed(Bullet(tagged(i)))));
        world.push(coerce!(runtime.alloc(Bullet(tagged(i)))));
    }
    assert_eq!(
        size_of::<SlabBox<dyn Entity, Erased>>(),
        3 * size_of::<usize>()
    );
    let ticks: u32 = world.iter_mut().map(|e| e.tick()).sum();
    assert_eq!(ticks, 40 * 9 + 80);
    assert_eq!(world.iter().filter(|e| e.kind() == "npc").count(), 40);
    assert_eq!(Npc::slab_cache().stats().in_use, 40);
    assert_eq!(runtime.stats().in_use, 40);
    // Freed on another thread: each slot goes home, each destructor runs once.
    std::thread::spawn(move || drop(world)).join().unwrap();
    assert_eq!(DROPS_A.load(Ordering::Relaxed), 40);
    assert_eq!(Npc::slab_cache().stats().in_use, 0);
    assert_eq!(Bullet::slab_cache().stats().in_use, 0);
    assert_eq!(runtime.stats().in_use, 0);
}

#[test]
fn keeping_the_pool_costs_one_pointer_and_the_vtable() {
    let cache: SlabCache<Tagged> = SlabCache::new();
    let b: SlabBox<dyn Debug, SlabCache<Tagged>> = coerce!(cache.alloc(tagged(7)));
    assert_eq!(size_of_val(&b), 2 * size_of::<usize>());
    assert!(format!("{b:?}").contains("tag: 7"));
    drop(b);
    assert_eq!(cache.stats().in_use, 0);
}

#[test]
fn a_box_upcasts_to_a_supertrait_and_arrays_unsize_to_slices() {
    let named: SlabBox<dyn Named, Erased> = coerce!(Npc::new_boxed(Npc {
        t: tagged(3),
        counter: &DROPS_B
    }));
    assert_eq!(named.name(), "npc 3");
    let mut entity: SlabBox<dyn Entity, Erased> = coerce!(named);
    assert_eq!(entity.tick(), 9);
    drop(entity);
    assert_eq!(DROPS_B.load(Ordering::Relaxed), 1);

    let arrays: SlabCache<[Tagged; 3]> = SlabCache::new();
    let mut s: SlabBox<[Tagged], SlabCache<[Tagged; 3]>> =
        coerce!(arrays.alloc([tagged(1), tagged(2), tagged(3)]));
    s[1].hp = 0;
    assert_eq!(s.iter().map(|t| t.hp).sum::<u32>(), 20);
    drop(s);
    assert_eq!(arrays.stats().in_use, 0);
}

#[test]
fn an_erased_box_of_a_sized_value_gives_the_value_back() {
    let cache: SlabCache<Tagged> = SlabCache::new();
    let b: SlabBox<Tagged, Erased> = coerce!(cache.alloc(tagged(5)));
    assert_eq!(SlabBox::into_inner(b), tagged(5));
    assert_eq!(cache.stats().in_use, 0);
    let any: SlabBox<dyn Any + Send, Erased> = coerce!(cache.alloc(tagged(6)));
    assert!(any.is::<Tagged>());
    assert_eq!(any.downcast_ref::<Tagged>().map(|t| t.tag), Some(6));
    drop(any);
    assert_eq!(cache.stats().in_use, 0);
}

/// Panics in its destructor.
struct Bomb(#[allow(dead_code, reason = "gives the value a size")] u64);
impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("boom");
    }
}
trait Anything {}
impl Anything for Bomb {}

#[test]
fn a_panicking_destructor_behind_a_vtable_still_returns_the_slot() {
    let cache: SlabCache<Bomb> = SlabCache::new();
    let b: SlabBox<dyn Anything, Erased> = coerce!(cache.alloc(Bomb(1)));
    let r = catch_unwind(AssertUnwindSafe(move || drop(b)));
    assert!(r.is_err());
    assert_eq!(cache.stats().in_use, 0);
}

#[test]
fn a_box_of_a_borrowing_value_coerces_with_its_lifetime() {
    let text = String::from("borrowed");
    let cache: SlabCache<&str> = SlabCache::new();
    let b: SlabBox<dyn Debug + '_, TypePoolLess<'_>> = coerce!(cache.alloc(text.as_str()));
    assert_eq!(format!("{b:?}"), "\"borrowed\"");
}

/// The pool of a runtime cache of `&'a str`.
type TypePoolLess<'a> = SlabCache<&'a str>;

#[slab_cached]
struct Shell(Tagged);
impl Entity for Shell {
    fn tick(&mut self) -> u32 {
        u32::from(self.0.tag)
    }
    fn kind(&self) -> &'static str {
        "shell"
    }
}

#[test]
fn typed_pools_keep_their_magazines_through_a_coercion() {
    let b: SlabBox<dyn Entity, TypePool<Shell>> = coerce!(Shell::new_boxed(Shell(tagged(9))));
    let first = SlabBox::as_ptr(&b).cast::<u8>();
    drop(b);
    // The slot went to this thread's magazine: the next box reuses it.
    let again = Shell::new_boxed(Shell(tagged(10)));
    assert_eq!(SlabBox::as_ptr(&again).cast::<u8>(), first);
    assert_eq!(Shell::slab_cache().stats().in_use, 1);
}
