//! The README's quick start, verbatim: it must compile and run.
use slab_core::{slab_cached, Boxed};

slab_core::slab_hooks!(global); // once per program: slab memory from the global allocator

#[slab_cached] // a static cache for `Bullet`, with thread-local magazines
struct Bullet { pos: [f32; 2], vel: [f32; 2], ttl: u16 }

fn main() {
    let b: Boxed<Bullet> = Bullet::new_boxed(Bullet { pos: [0.0; 2], vel: [1.0, 0.0], ttl: 90 });
    std::thread::spawn(move || drop(b)).join().unwrap(); // free from any thread
    println!("{}", Bullet::slab_cache().stats());         // /proc/slabinfo-style line
}
