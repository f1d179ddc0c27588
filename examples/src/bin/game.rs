//! Game entities: a frame loop that spawns and despawns thousands of entities of three
//! `#[slab_cached]` types per frame (projectiles, particles, NPCs with `String` names),
//! next to the very same loop on `Box`.
//!
//! Both worlds run side by side, frame by frame, with the same random sequence, so they
//! hold the same entities; only where the entities live differs. Every projectile that
//! expires bursts into particles, so despawns feed spawns as in a real game. At the end
//! the program prints the time per frame of both, the per-type stats table, and the
//! stats again after `shrink()` gave the spare slabs back.
//!
//! Then a **mixed scene**: the same three types behind one `trait Entity`, all in one
//! `Vec<SlabBox<dyn Entity, Erased>>` (boxes made by `slab_core::coerce!`, each returning to
//! its own type's cache when dropped), beside the same scene in a `Vec<Box<dyn Entity>>`.
//!
//! ```sh
//! cargo run -p examples --release --bin game            # ~1000 frames, a few seconds
//! cargo run -p examples --bin game -- --quick           # a few frames (also SLAB_EXAMPLES_QUICK=1)
//! ```

use std::ops::DerefMut;
use std::time::{Duration, Instant};

use examples::{Rng, ms, print_report, print_stats, scaled};
use slab_core::{Boxed, Erased, SlabBox, coerce, slab_cached};

slab_core::slab_hooks!(global);

/// A bullet: moves fast, lives up to a second, bursts into particles when it expires.
#[slab_cached]
struct Projectile {
    pos: [f32; 3],
    vel: [f32; 3],
    damage: u16,
    ttl: u16,
    owner: u32,
}

/// A spark or smoke puff: many of them, short-lived.
#[slab_cached]
struct Particle {
    pos: [f32; 3],
    vel: [f32; 3],
    color: u32,
    ttl: u16,
}

/// A character with a heap-allocated name: few of them, long-lived.
#[slab_cached]
struct Npc {
    name: String,
    pos: [f32; 3],
    hp: i32,
    state: u8,
    ttl: u16,
}

/// Where a world keeps its entities: `Boxed<T>` from the type's slab cache, or `Box<T>`.
trait Backend {
    /// The box of a projectile.
    type P: DerefMut<Target = Projectile>;
    /// The box of a particle.
    type Q: DerefMut<Target = Particle>;
    /// The box of an NPC.
    type N: DerefMut<Target = Npc>;
    fn projectile(v: Projectile) -> Self::P;
    fn particle(v: Particle) -> Self::Q;
    fn npc(v: Npc) -> Self::N;
}

/// Entities in their `#[slab_cached]` pools.
struct Slab;
impl Backend for Slab {
    type P = Boxed<Projectile>;
    type Q = Boxed<Particle>;
    type N = Boxed<Npc>;
    fn projectile(v: Projectile) -> Self::P {
        Projectile::new_boxed(v)
    }
    fn particle(v: Particle) -> Self::Q {
        Particle::new_boxed(v)
    }
    fn npc(v: Npc) -> Self::N {
        Npc::new_boxed(v)
    }
}

/// Entities on the global heap, one `Box` each.
struct Heap;
impl Backend for Heap {
    type P = Box<Projectile>;
    type Q = Box<Particle>;
    type N = Box<Npc>;
    fn projectile(v: Projectile) -> Self::P {
        Box::new(v)
    }
    fn particle(v: Particle) -> Self::Q {
        Box::new(v)
    }
    fn npc(v: Npc) -> Self::N {
        Box::new(v)
    }
}

/// How many entities a frame spawns.
#[derive(Clone, Copy)]
struct Rates {
    projectiles: usize,
    ambient_particles: usize,
    burst: usize,
    npcs: usize,
}

const NAMES: [&str; 8] = [
    "Guard", "Merchant", "Archer", "Smith", "Scout", "Healer", "Bandit", "Monk",
];

/// One world: the live entities and the counters of one frame.
struct World<B: Backend> {
    projectiles: Vec<B::P>,
    particles: Vec<B::Q>,
    npcs: Vec<B::N>,
    rng: Rng,
    next_id: u32,
    spawned: usize,
    despawned: usize,
}

impl<B: Backend> World<B> {
    fn new(seed: u64) -> Self {
        World {
            projectiles: Vec::new(),
            particles: Vec::new(),
            npcs: Vec::new(),
            rng: Rng::new(seed),
            next_id: 0,
            spawned: 0,
            despawned: 0,
        }
    }

    fn live(&self) -> usize {
        self.projectiles.len() + self.particles.len() + self.npcs.len()
    }

    fn spawn_particle(&mut self, at: [f32; 3], ttl_hi: u32) {
        let r = &mut self.rng;
        let p = Particle {
            pos: at,
            vel: [r.unit(), r.unit(), r.unit()],
            color: u32::try_from(r.next_u64() >> 40).unwrap_or(0),
            ttl: u16::try_from(r.range(4, ttl_hi)).unwrap_or(4),
        };
        self.particles.push(B::particle(p));
        self.spawned += 1;
    }

    /// One frame: move everything, despawn what expired (bursting projectiles into
    /// particles), spawn the frame's new entities.
    fn frame(&mut self, rates: Rates) {
        self.spawned = 0;
        self.despawned = 0;

        // Move particles; despawn the expired ones (dropping a box frees its slot).
        let before = self.particles.len();
        self.particles.retain_mut(|p| {
            let p: &mut Particle = p;
            for (x, v) in p.pos.iter_mut().zip(p.vel) {
                *x += v;
            }
            p.color = p.color.saturating_sub(0x0001_0101); // fade
            p.ttl = p.ttl.saturating_sub(1);
            p.ttl > 0
        });
        self.despawned += before - self.particles.len();

        // Move projectiles; the expired ones burst into particles.
        let mut bursts = Vec::new();
        let before = self.projectiles.len();
        self.projectiles.retain_mut(|p| {
            let p: &mut Projectile = p;
            for (x, v) in p.pos.iter_mut().zip(p.vel) {
                *x += v;
            }
            p.ttl = p.ttl.saturating_sub(1);
            if p.ttl == 0 {
                bursts.push((p.pos, p.owner, p.damage));
            }
            p.ttl > 0
        });
        self.despawned += before - self.projectiles.len();
        for (at, owner, damage) in bursts {
            for _ in 0..rates.burst {
                self.spawn_particle(at, 12);
            }
            // One expiring projectile in 32 hits an NPC.
            let n = self.npcs.len();
            if owner % 32 == 1 && n > 0 {
                self.npcs[owner as usize * 7919 % n].hp -= i32::from(damage);
            }
        }

        // NPCs wander, lose health, and leave when their time is up.
        let before = self.npcs.len();
        self.npcs.retain_mut(|n| {
            n.pos[0] += 0.1;
            n.hp -= i32::from(n.state & 1);
            n.state = n.state.wrapping_add(1);
            n.ttl = n.ttl.saturating_sub(1);
            n.ttl > 0 && n.hp > 0
        });
        self.despawned += before - self.npcs.len();

        // Spawn this frame's newcomers.
        for _ in 0..rates.projectiles {
            let r = &mut self.rng;
            let p = Projectile {
                pos: [r.unit() * 100.0, 0.0, r.unit() * 100.0],
                vel: [r.unit() * 4.0, r.unit(), r.unit() * 4.0],
                damage: u16::try_from(r.range(5, 50)).unwrap_or(5),
                ttl: u16::try_from(r.range(10, 60)).unwrap_or(10),
                owner: r.range(0, 1 << 20),
            };
            self.projectiles.push(B::projectile(p));
            self.spawned += 1;
        }
        for _ in 0..rates.ambient_particles {
            let at = [self.rng.unit() * 100.0, 10.0, self.rng.unit() * 100.0];
            self.spawn_particle(at, 40);
        }
        for _ in 0..rates.npcs {
            self.next_id += 1;
            let r = &mut self.rng;
            let name = format!(
                "{} #{}",
                NAMES[self.next_id as usize % NAMES.len()],
                self.next_id
            );
            let n = Npc {
                name,
                pos: [r.unit() * 100.0, 0.0, r.unit() * 100.0],
                hp: i32::try_from(r.range(50, 400)).unwrap_or(50),
                state: 0,
                ttl: u16::try_from(r.range(100, 600)).unwrap_or(100),
            };
            self.npcs.push(B::npc(n));
            self.spawned += 1;
        }
    }
}

/// Frame times of one world.
#[derive(Default)]
struct Times(Vec<Duration>);

impl Times {
    fn summary(&mut self) -> (Duration, Duration, Duration, Duration) {
        self.0.sort_unstable();
        let n = self.0.len().max(1);
        let total: Duration = self.0.iter().sum();
        let mean = total / u32::try_from(n).unwrap_or(u32::MAX);
        let at = |q: usize| self.0.get((n - 1) * q / 100).copied().unwrap_or_default();
        (
            mean,
            at(50),
            at(99),
            self.0.last().copied().unwrap_or_default(),
        )
    }
}

fn stats() -> [slab_core::SlabStats; 3] {
    [
        Projectile::slab_cache().stats(),
        Particle::slab_cache().stats(),
        Npc::slab_cache().stats(),
    ]
}

/// The frame loop of both worlds, on the game thread.
fn run(frames: usize, warmup: usize, rates: Rates) {
    let mut slab = World::<Slab>::new(42);
    let mut heap = World::<Heap>::new(42);
    let (mut t_slab, mut t_heap) = (Times::default(), Times::default());
    let (mut spawned, mut despawned, mut peak_live) = (0usize, 0usize, 0usize);
    let started = Instant::now();
    for f in 0..warmup + frames {
        // Alternate which world goes first, so neither always runs on a warmer cache.
        let (ds, dh) = if f % 2 == 0 {
            let t = Instant::now();
            slab.frame(rates);
            let ds = t.elapsed();
            let t = Instant::now();
            heap.frame(rates);
            (ds, t.elapsed())
        } else {
            let t = Instant::now();
            heap.frame(rates);
            let dh = t.elapsed();
            let t = Instant::now();
            slab.frame(rates);
            (t.elapsed(), dh)
        };
        assert_eq!(
            slab.live(),
            heap.live(),
            "both worlds hold the same entities"
        );
        if f >= warmup {
            t_slab.0.push(ds);
            t_heap.0.push(dh);
            spawned += slab.spawned;
            despawned += slab.despawned;
            peak_live = peak_live.max(slab.live());
        }
        if f + 1 == warmup + frames / 2 {
            println!(
                "frame {}: {} projectiles, {} particles, {} NPCs alive (e.g. {:?})",
                f + 1,
                slab.projectiles.len(),
                slab.particles.len(),
                slab.npcs.len(),
                slab.npcs.first().map_or("-", |n| n.name.as_str())
            );
            print_stats(&stats());
        }
    }
    let wall = started.elapsed();

    let per_frame = |n: usize| n / frames.max(1);
    println!(
        "per frame: {} spawned, {} despawned, up to {peak_live} alive; both loops took {:.2} s",
        per_frame(spawned),
        per_frame(despawned),
        wall.as_secs_f64()
    );
    println!("time per frame           mean          p50          p99          max");
    let (sm, s50, s99, smax) = t_slab.summary();
    let (hm, h50, h99, hmax) = t_heap.summary();
    for (name, (m, p50, p99, max)) in [
        ("#[slab_cached]", (sm, s50, s99, smax)),
        ("Box", (hm, h50, h99, hmax)),
    ] {
        println!(
            "{name:<16} {:>12} {:>12} {:>12} {:>12}",
            ms(m),
            ms(p50),
            ms(p99),
            ms(max)
        );
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(f64::MIN_POSITIVE);
    println!(
        "slab / Box frame time: {:.2}x mean, {:.2}x median",
        ratio(sm, hm),
        ratio(s50, h50)
    );
    drop(slab);
    drop(heap);
    println!("level over, every entity despawned; the caches keep their slabs for the next level:");
    print_stats(&stats());
}

/// What every entity of the mixed scene does, whatever its type.
trait Entity: Send {
    /// One frame; whether the entity stays alive.
    fn update(&mut self) -> bool;
}

impl Entity for Projectile {
    fn update(&mut self) -> bool {
        for (x, v) in self.pos.iter_mut().zip(self.vel) {
            *x += v;
        }
        self.ttl = self.ttl.saturating_sub(1);
        self.ttl > 0
    }
}

impl Entity for Particle {
    fn update(&mut self) -> bool {
        for (x, v) in self.pos.iter_mut().zip(self.vel) {
            *x += v;
        }
        self.color = self.color.saturating_sub(0x0001_0101);
        self.ttl = self.ttl.saturating_sub(1);
        self.ttl > 0
    }
}

impl Entity for Npc {
    fn update(&mut self) -> bool {
        self.pos[0] += 0.1;
        self.hp -= i32::from(self.state & 1);
        self.state = self.state.wrapping_add(1);
        self.ttl = self.ttl.saturating_sub(1);
        self.ttl > 0 && self.hp > 0
    }
}

/// One frame's newcomers of the mixed scene, made by `make` into either kind of box.
fn spawn_mixed<E>(
    rng: &mut Rng,
    n: usize,
    scene: &mut Vec<E>,
    projectile: impl Fn(Projectile) -> E,
    particle: impl Fn(Particle) -> E,
    npc: impl Fn(Npc) -> E,
) {
    for i in 0..n {
        let ttl = u16::try_from(rng.range(5, 60)).unwrap_or(5);
        let pos = [rng.unit(), rng.unit(), rng.unit()];
        scene.push(match i % 8 {
            0 => npc(Npc {
                name: format!("{} #{i}", NAMES[i % NAMES.len()]),
                pos,
                hp: 100,
                state: 0,
                ttl,
            }),
            1..=3 => projectile(Projectile {
                pos,
                vel: [1.0, 0.0, 0.5],
                damage: 10,
                ttl,
                owner: 1,
            }),
            _ => particle(Particle {
                pos,
                vel: [0.0, 1.0, 0.0],
                color: 0x00ff_ffff,
                ttl,
            }),
        });
    }
}

/// The mixed scene: one `Vec` of `dyn Entity` boxes of three types, slab and `Box` side by
/// side.
fn run_mixed(frames: usize, per_frame: usize) {
    let mut slab: Vec<SlabBox<dyn Entity, Erased>> = Vec::new();
    let mut heap: Vec<Box<dyn Entity>> = Vec::new();
    let (mut rng_s, mut rng_h) = (Rng::new(7), Rng::new(7));
    let (mut t_slab, mut t_heap) = (Duration::ZERO, Duration::ZERO);
    let mut peak = 0;
    for _ in 0..frames {
        let t = Instant::now();
        slab.retain_mut(|e| e.update());
        spawn_mixed(
            &mut rng_s,
            per_frame,
            &mut slab,
            |p| coerce!(Projectile::new_boxed(p)),
            |p| coerce!(Particle::new_boxed(p)),
            |n| coerce!(Npc::new_boxed(n)),
        );
        t_slab += t.elapsed();
        let t = Instant::now();
        heap.retain_mut(|e| e.update());
        spawn_mixed(
            &mut rng_h,
            per_frame,
            &mut heap,
            |p| Box::new(p) as Box<dyn Entity>,
            |p| Box::new(p) as Box<dyn Entity>,
            |n| Box::new(n) as Box<dyn Entity>,
        );
        t_heap += t.elapsed();
        assert_eq!(slab.len(), heap.len(), "both scenes hold the same entities");
        peak = peak.max(slab.len());
    }
    let per = |d: Duration| d / u32::try_from(frames.max(1)).unwrap_or(u32::MAX);
    println!(
        "mixed scene: one Vec<SlabBox<dyn Entity, Erased>> of 3 types, up to {peak} alive, {per_frame} spawned per frame"
    );
    println!(
        "time per frame: SlabBox<dyn Entity> {}, Box<dyn Entity> {}",
        ms(per(t_slab)),
        ms(per(t_heap))
    );
    drop(slab); // each box goes back to its own type's cache
    drop(heap);
}

fn main() {
    let frames = scaled(1000, 60);
    let warmup = scaled(100, 5);
    let k = scaled(1, 4); // quick mode divides the rates by 4
    let rates = Rates {
        projectiles: 800 / k,
        ambient_particles: 1500 / k,
        burst: 4,
        npcs: 40 / k,
    };
    println!(
        "game: {frames} frames (+{warmup} warm-up), a #[slab_cached] world and a Box world side by side"
    );
    println!(
        "per frame: {} projectiles, {} particles (+{} per expired projectile), {} NPCs spawn",
        rates.projectiles, rates.ambient_particles, rates.burst, rates.npcs
    );

    // The loop runs on its own thread, as a game's simulation thread would. When it exits,
    // its per-thread magazines of free slots go back to the caches' depots, so `shrink`
    // below can return every slab but the masters.
    std::thread::Builder::new()
        .name("game".into())
        .spawn(move || {
            run(frames, warmup, rates);
            run_mixed(frames / 2, rates.projectiles / 4);
        })
        .expect("spawn the game thread")
        .join()
        .expect("the game thread panicked");

    let returned = Projectile::slab_cache().shrink()
        + Particle::slab_cache().shrink()
        + Npc::slab_cache().shrink();
    println!(
        "game thread exited; shrink() returned {returned} empty slabs to the hooks \
         (each cache keeps its master slab)"
    );
    print_report();
}
