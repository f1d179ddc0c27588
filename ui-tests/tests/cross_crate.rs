//! Types annotated in a library crate (`ui-tests`'s `src/lib.rs`) and used from another
//! crate: this test binary, which defines the hooks.

use ui_tests::{Packet, Shape};

slab_core::slab_hooks!(global);

#[test]
fn library_types_are_boxed_and_freed_from_another_crate() {
    let packets: Vec<_> = (0..20u16)
        .map(|i| {
            Packet::new_boxed(Packet {
                len: i,
                data: [0; 1500],
            })
        })
        .collect();
    assert_eq!(packets.iter().map(|p| u32::from(p.len)).sum::<u32>(), 190);
    let stats = Packet::slab_cache().stats();
    assert_eq!((stats.in_use, stats.slab_size), (20, 16384));
    drop(packets);
    assert_eq!(Packet::slab_cache().stats().in_use, 0);
}

#[test]
fn library_enums_cross_threads() {
    let s = Shape::new_boxed(Shape::Circle { r: 2.0 });
    let back = std::thread::spawn(move || {
        let t = Shape::try_new_boxed(Shape::Square(1.0)).unwrap();
        (s, t)
    })
    .join()
    .unwrap();
    assert_eq!(*back.0, Shape::Circle { r: 2.0 });
    assert_eq!(*back.1, Shape::Square(1.0));
}

#[test]
fn crate_private_constructors_work_inside_the_library() {
    assert_eq!(ui_tests::count_through_a_box(41), 41);
}

#[test]
fn hook_symbols_of_slab_derive_match_slab_core() {
    let hooks = include_str!("../../slab-derive/src/hooks.rs");
    for symbol in [
        slab_core::__private::ALLOC_SYMBOL,
        slab_core::__private::FREE_SYMBOL,
    ] {
        assert!(
            hooks.contains(&format!("\"{symbol}\"")),
            "{symbol} differs in slab-derive"
        );
    }
}
