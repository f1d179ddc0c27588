//! The README's trait-object, `SlabArc` and byte-buffer examples, as written there.
use slab_core::{ByteBuf, CachedArc, Erased, SlabBox, SlabCache, SpinLock, coerce, slab_cached};

slab_core::slab_hooks!(global);

trait Entity: Send { fn update(&mut self) -> bool; }
#[slab_cached] struct Bullet { ttl: u16 }
#[slab_cached] struct Npc { hp: i32 }
impl Entity for Bullet { fn update(&mut self) -> bool { self.ttl -= 1; self.ttl > 0 } }
impl Entity for Npc { fn update(&mut self) -> bool { self.hp > 0 } }

#[slab_cached]
#[derive(Clone)]
struct Faction { #[allow(dead_code)] name: String, gold: u64 }

static BUFS: SlabCache<ByteBuf<1500>, SpinLock, 65536> = SlabCache::new();

fn receive(socket: &std::net::UdpSocket) -> std::io::Result<usize> {
    let mut buf = BUFS.alloc(ByteBuf::new());
    let (n, _from) = socket.recv_from(buf.initialize_unfilled())?; // std wants &mut [u8]
    buf.advance(n);
    Ok(buf.into_bytes().len()) // zero-copy; send it to any task
}

fn main() {
    let mut scene: Vec<SlabBox<dyn Entity, Erased>> = Vec::new();
    scene.push(coerce!(Bullet::new_boxed(Bullet { ttl: 3 })));
    scene.push(coerce!(Npc::new_boxed(Npc { hp: 10 })));
    scene.retain_mut(|e| e.update()); // each dropped box returns to its own type's cache
    assert_eq!(scene.len(), 2);

    let guild = Faction::new_arc(Faction { name: "Guild".into(), gold: 10 });
    let member = CachedArc::clone(&guild);          // shared, no allocation
    let watcher = CachedArc::downgrade(&guild);     // does not keep the value
    std::thread::spawn(move || assert_eq!(member.gold, 10)).join().unwrap();
    let mut guild = guild;
    CachedArc::make_mut(&mut guild).gold += 5;      // unique again: in place
    drop(guild);
    assert!(watcher.upgrade().is_none());

    let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    tx.send_to(b"ping", rx.local_addr().unwrap()).unwrap();
    assert_eq!(receive(&rx).unwrap(), 4);
}
