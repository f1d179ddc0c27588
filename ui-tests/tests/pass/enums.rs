use slab_core::{Boxed, slab_cached};

slab_core::slab_hooks!(global);

#[slab_cached]
#[derive(Debug, PartialEq)]
enum Shape {
    Circle { r: f64 },
    Square(f64),
}

#[slab_cached(size = 1024)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Color {
    Red = 1,
    Green = 2,
}

fn main() {
    let s: Boxed<Shape> = Shape::new_boxed(Shape::Circle { r: 1.5 });
    assert_eq!(*s, Shape::Circle { r: 1.5 });
    let t = Shape::new_boxed(Shape::Square(2.0));
    assert!(matches!(*t, Shape::Square(x) if x == 2.0));
    let c = Color::new_boxed(Color::Green);
    assert_eq!(*c as u8 + Color::Red as u8, 3);
    assert_eq!(Color::slab_cache().stats().slab_size, 1024);
}
