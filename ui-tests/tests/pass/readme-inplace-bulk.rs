//! The README's examples of large values in place and of batches, as written there.
use slab_core::SlabCache;
slab_core::slab_hooks!(global);

mod in_place_example {
    use slab_core::{SlabBox, slab_cached};

    #[slab_cached]
    struct Packet {
        len: u16,
        payload: [u8; 1498],
    }

    pub fn in_place() {
        let seq = 1234;
        let a = Packet::new_boxed_with(|| Packet {
            len: 0,
            payload: [0; 1498],
        });
        let b = SlabBox::init_with(Packet::new_uninit_boxed(), |slot| {
            let p = slot.write(Packet {
                len: 1498,
                payload: [0; 1498],
            }); // written in the slot
            p.payload[seq % 1498] = 0xff; // and patched there
            p
        });
        assert_eq!((a.len, b.payload[1234]), (0, 0xff));
    }
}

static PACKETS: SlabCache<[u8; 1500]> = SlabCache::new();

fn batches() {
    let batch = PACKETS.alloc_bulk([[0u8; 1500]; 16]); // 16 boxes, or a panic naming the type
    assert!(batch.iter().all(|b| b.len() == 1500));
    PACKETS.free_bulk(batch);
    let numbered = PACKETS.alloc_bulk_with::<16>(|k| [k as u8; 1500]); // each built in its slot
    assert_eq!(numbered[9][1499], 9);
    PACKETS.free_bulk(numbered);
    assert_eq!(PACKETS.stats().in_use, 0);
}

fn main() {
    in_place_example::in_place();
    batches();
}
