//! Whole chains moving between the depot and everything around it: parked magazines, the
//! chain ↔ slab transfer (a slab at a time, each slab relisted once), and the exchanges
//! with magazine holders, which change the holder's count `held` in the same critical
//! section as the depot's counts, so `stats` never counts a slot twice (I8).

use core::ptr::NonNull;

use super::{DEPOT_MAGS, Depot, Retired, add_owned};

/// The most slots a magazine holds (`magazine::rounds_for`'s bound): larger chains are not
/// parked as magazines.
const MAX_ROUNDS: u32 = 64;
use crate::chain::Chain;
use crate::geometry::Class;
use crate::hardening;
use crate::slab::{self, SlabHeader};
use crate::sync::{AtomicU32, Ordering};

impl Depot {
    /// Parks a full magazine, or hands it back if the depot is full.
    fn park(&mut self, chain: Chain) -> Result<(), Chain> {
        let i = self.mag_count as usize;
        if i == DEPOT_MAGS {
            return Err(chain);
        }
        self.mag_heads[i] = chain.head;
        self.mag_counts[i] = chain.count;
        self.mag_count += 1;
        self.in_magazines += chain.count as usize;
        Ok(())
    }

    /// Takes the last parked magazine.
    fn unpark(&mut self) -> Option<Chain> {
        self.mag_count = self.mag_count.checked_sub(1)?;
        let i = self.mag_count as usize;
        let chain = Chain {
            head: self.mag_heads[i],
            count: self.mag_counts[i],
        };
        self.in_magazines -= chain.count as usize;
        Some(chain)
    }

    /// The parked magazines.
    pub(crate) fn parked(&self) -> impl Iterator<Item = Chain> + '_ {
        let n = self.mag_count as usize;
        self.mag_heads[..n]
            .iter()
            .zip(&self.mag_counts[..n])
            .map(|(&head, &count)| Chain { head, count })
    }

    /// Gives a full magazine to a holder whose count is `held`: a parked one, else up to
    /// `rounds` slots from the slabs; `None` if the depot holds no free slot. The chain
    /// enters `held` in this critical section, so the peak (and `stats`) never count it as
    /// handed out to users (I8).
    ///
    /// # Safety
    /// The lock is held (this is its depot); `class` is its geometry; `held` is the
    /// count of a holder registered with this depot (I14).
    pub(crate) unsafe fn take_magazine(
        &mut self,
        class: &Class,
        rounds: u32,
        held: &AtomicU32,
    ) -> Option<Chain> {
        let chain = match self.unpark() {
            Some(chain) => chain,
            None => {
                // SAFETY: the lock of this depot is held (I9) and `class` is its geometry
                // (this function's contract).
                let chain = unsafe { self.pop_chain(class, rounds) };
                if chain.count == 0 {
                    return None;
                }
                self.refills = self.refills.wrapping_add(1);
                chain
            }
        };
        self.exchanges = self.exchanges.wrapping_add(1);
        add_owned(held, chain.count);
        self.update_peak();
        Some(chain)
    }

    /// Takes a full magazine back from the holder whose count is `held`: the chain leaves
    /// `held` and enters the depot (parked, or returned to its slabs) in this critical
    /// section (I8).
    ///
    /// # Safety
    /// The lock is held; `class` is the depot's geometry; `chain` holds free slots of this
    /// depot (I2) that the holder gives up, and `held`, which counts them, is the holder's
    /// registered count (I14).
    pub(crate) unsafe fn give_magazine(
        &mut self,
        chain: Chain,
        held: &AtomicU32,
        class: &Class,
        retired: &mut Retired,
    ) {
        debug_assert!(
            held.load(Ordering::Relaxed) >= chain.count,
            "a parked magazine was counted"
        );
        add_owned(held, chain.count.wrapping_neg());
        self.exchanges = self.exchanges.wrapping_add(1);
        // SAFETY: the lock is held; the chain holds free slots of this depot, given up by
        // the caller (contract, I2) and no longer in its count.
        unsafe { self.park_or_return(chain, class, retired) };
    }

    /// Takes both magazines of a holder back (parked, or returned to their slabs) and
    /// zeroes the holder's count `held`, in one critical section, so `stats` never counts
    /// a slot twice (I8).
    ///
    /// # Safety
    /// The lock is held; `class` is the depot's geometry; the chains hold free slots of
    /// this depot that the caller gives up (I2), and `held` is the caller's registered
    /// count (I14), which counts exactly them.
    pub(crate) unsafe fn give_back(
        &mut self,
        chains: [Chain; 2],
        held: &AtomicU32,
        class: &Class,
        retired: &mut Retired,
    ) {
        held.store(0, Ordering::Relaxed);
        for chain in chains {
            if chain.count > 0 {
                // SAFETY: the lock is held; the chain's slots are free slots of this depot,
                // given up by the caller (contract, I2).
                unsafe { self.park_or_return(chain, class, retired) };
            }
        }
    }

    /// Moves every parked magazine back to its slabs (for `shrink`, and when the last
    /// handle goes), retiring empty slaves beyond `keep_empty` onto `retired`.
    ///
    /// # Safety
    /// The lock is held; `class` is the depot's geometry.
    pub(crate) unsafe fn drain_parked(&mut self, class: &Class, retired: &mut Retired) {
        while let Some(chain) = self.unpark() {
            // SAFETY: the lock is held and `class` is the depot's geometry (contract); a
            // parked chain holds free slots of this depot, now ours (I2).
            unsafe { self.chain_to_slabs(chain, class, retired) };
        }
    }

    /// Parks `chain` in the depot if there is room and a handle left to take it, else
    /// returns its slots to their slabs (with no handle left, a parked magazine would keep
    /// its slabs, and the cache, for ever: threads that still hold magazines of a cache
    /// whose handles are gone give them back here, I23).
    ///
    /// # Safety
    /// The lock is held; `chain` holds free slots of this depot (I2).
    unsafe fn park_or_return(&mut self, chain: Chain, class: &Class, retired: &mut Retired) {
        let parked = if self.handles > 0 {
            self.park(chain)
        } else {
            Err(chain)
        };
        if let Err(chain) = parked {
            // SAFETY: the lock is held and `chain` holds free slots of this depot (this
            // function's contract, I2): what `chain_to_slabs` needs.
            unsafe { self.chain_to_slabs(chain, class, retired) };
        }
    }

    /// Returns every slot of `chain` to its slab. Consecutive slots of one slab (a magazine
    /// freed in allocation order) go back as a run: the slab is relisted and counted once.
    ///
    /// # Safety
    /// The lock is held; `chain` holds free slots handed out by this depot (I2).
    unsafe fn chain_to_slabs(&mut self, chain: Chain, class: &Class, retired: &mut Retired) {
        let mut run: Option<(NonNull<SlabHeader>, usize)> = None;
        let settle_run =
            |d: &mut Depot, retired: &mut Retired, run: Option<(NonNull<SlabHeader>, usize)>| {
                let Some((h, n)) = run else { return };
                // SAFETY: the lock is held (I9); exactly `n` slots of `h`, a live slab of this
                // depot on the list its `list` field names (I11), were pushed back below since
                // it was last relisted.
                unsafe { d.settle(h, n, class, retired) };
            };
        let name = self.name;
        // SAFETY: the chain links free slots of geometry `class` (I5), which the caller
        // gives to us (contract, I2); each link is read before `slab::push` below reuses
        // the word for the slab's list.
        for slot in unsafe { chain.drain(class, name) } {
            let h = slab::header_of(slot, class);
            if hardening::CHECKS {
                slab::check_header(h, name);
            }
            match &mut run {
                Some((rh, n)) if *rh == h => *n += 1,
                _ => {
                    settle_run(self, retired, run.take());
                    run = Some((h, 1));
                }
            }
            // SAFETY: `slot` was handed out by this depot, so `h` is the live header of its
            // slab (not retired: this slot was still out, I4, I13); it holds no value (it
            // sat in a magazine, I2) and is not used again here; the lock is held.
            unsafe { slab::push(h, slot, class) };
        }
        settle_run(self, retired, run);
    }

    /// Takes exactly `n` free slots as one chain for a bulk allocation: from the slabs,
    /// after returning the parked magazines to them if the slabs alone are short. The slots
    /// are counted as handed out (to no holder). `Err` says how many free slots are
    /// missing (the cache must grow by that many), and nothing is taken.
    ///
    /// # Safety
    /// The lock is held (this is its depot); `class` is its geometry.
    pub(crate) unsafe fn take_exact(&mut self, class: &Class, n: u32) -> Result<Chain, usize> {
        let n_slots = n as usize;
        if self.free_slots() < n_slots && self.mag_count > 0 {
            // Parked slots go back to their slabs, whose free lists the chain is cut from.
            // No slab is retired meanwhile: its slots are taken next, or the cache grows,
            // which needs them all.
            let keep = core::mem::replace(&mut self.keep_empty, usize::MAX);
            let mut retired = Retired::new();
            // SAFETY: the lock is held and `class` is this depot's geometry (contract).
            unsafe { self.drain_parked(class, &mut retired) };
            self.keep_empty = keep;
            debug_assert_eq!(retired.len(), 0, "no slab retired");
        }
        let free = self.free_slots();
        if free < n_slots {
            return Err(n_slots - free);
        }
        // SAFETY: the lock is held and `class` is this depot's geometry (contract); the
        // slabs hold at least `n` free slots, so the chain holds exactly `n`.
        let chain = unsafe { self.pop_chain(class, n) };
        debug_assert_eq!(chain.count, n);
        self.update_peak();
        Ok(chain)
    }

    /// Takes a chain of free slots that no holder counts (a bulk free's batch) into the
    /// depot: parked if it is no larger than a magazine (a holder may take it as one),
    /// else returned to its slabs.
    ///
    /// # Safety
    /// The lock is held; `class` is the depot's geometry; the chain holds free slots of
    /// this depot that the caller gives up (I2).
    pub(crate) unsafe fn give_chain(&mut self, chain: Chain, class: &Class, retired: &mut Retired) {
        if chain.count == 0 {
            return;
        }
        if chain.count <= MAX_ROUNDS {
            // SAFETY: the lock is held; the chain holds free slots of this depot, given up
            // by the caller (contract, I2).
            unsafe { self.park_or_return(chain, class, retired) };
        } else {
            // SAFETY: the same; its slots go back to their slabs.
            unsafe { self.chain_to_slabs(chain, class, retired) };
        }
    }

    /// Takes up to `rounds` free slots out of the slabs as one chain, a slab at a time (each
    /// slab is relisted once, not once per slot).
    ///
    /// # Safety
    /// The lock is held (this is its depot); `class` is its geometry.
    unsafe fn pop_chain(&mut self, class: &Class, rounds: u32) -> Chain {
        let mut chain = Chain::EMPTY;
        while chain.count < rounds {
            let Some(h) = NonNull::new(self.partial).or(NonNull::new(self.empty)) else {
                break;
            };
            // SAFETY: `h` heads one of this depot's lists, so it is a live slab (I11); the
            // lock is held (I12); the chain holds free slots that only we refer to (I2).
            let taken = unsafe {
                slab::pop_batch(h, class, self.name, rounds - chain.count, &mut chain.head)
            };
            debug_assert!(
                taken > 0,
                "a slab on the partial or empty list has a free slot"
            );
            chain.count += taken;
            self.in_use += taken as usize;
            // SAFETY: `h` is live, on the list its `list` field names (`pop_batch` does not
            // touch the lists, I11), and its fill level changed; the lock is held.
            unsafe { self.relist(h, class) };
        }
        chain
    }
}
