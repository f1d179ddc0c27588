//! A `#[slab_cached]` type is shared by every thread: boxes cross threads and are freed
//! wherever they are dropped.
use std::sync::Arc;

use slab_core::{Boxed, slab_cached};

slab_core::slab_hooks!(global);

#[slab_cached]
struct Job {
    id: usize,
    name: Arc<str>,
}

fn main() {
    let name: Arc<str> = Arc::from("job");
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let name = Arc::clone(&name);
            std::thread::spawn(move || {
                let jobs: Vec<Boxed<Job>> = (0..100)
                    .map(|i| Job::new_boxed(Job { id: t * 100 + i, name: Arc::clone(&name) }))
                    .collect();
                jobs
            })
        })
        .collect();
    let all: Vec<Boxed<Job>> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    assert_eq!(all.iter().map(|j| j.id).sum::<usize>(), (0..400).sum());
    assert_eq!(&*all[0].name, "job");
    assert_eq!(Job::slab_cache().stats().in_use, 400);
    std::thread::spawn(move || drop(all)).join().unwrap();
    assert_eq!(Job::slab_cache().stats().in_use, 0);
}
