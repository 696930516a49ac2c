//! A fixed number of places, taken and given back by a guard: how many
//! event streams and held long polls may be open at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Slots {
    max: usize,
    taken: Arc<AtomicUsize>,
}

/// One place; dropping it gives the place back.
pub struct Slot(Arc<AtomicUsize>);

impl Slots {
    pub fn new(max: usize) -> Slots {
        Slots {
            max,
            taken: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// A place, or None when all are taken.
    pub fn take(&self) -> Option<Slot> {
        let before = self.taken.fetch_add(1, Ordering::SeqCst);
        let slot = Slot(self.taken.clone());
        (before < self.max).then_some(slot)
    }

    pub fn taken(&self) -> usize {
        self.taken.load(Ordering::SeqCst)
    }

    pub fn max(&self) -> usize {
        self.max
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_more_places_than_the_maximum_and_dropped_ones_come_back() {
        let slots = Slots::new(2);
        let (a, b) = (slots.take(), slots.take());
        assert!(a.is_some() && b.is_some());
        assert!(slots.take().is_none());
        assert_eq!(slots.taken(), 2);
        drop(a);
        assert!(slots.take().is_some());
    }
}
