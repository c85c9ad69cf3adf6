//! [`Fifo`]: a first-in first-out queue that keeps its oldest element
//! inline, so that the common case of a wait list (nobody waiting, or one
//! waiter: the joiner of a green thread, the one reader of a socket) never
//! allocates.
//!
//! Invariant: `more` holds nothing whenever `one` is `None`; so `one`, when
//! present, is always the oldest element. `more` is an `Option` so that
//! dropping (or draining) a list that never had two elements is a single
//! check, not a walk over an empty ring buffer.

use std::collections::VecDeque;

/// A FIFO queue whose first element needs no allocation.
#[derive(Debug)]
pub(crate) struct Fifo<T> {
    one: Option<T>,
    more: Option<VecDeque<T>>,
}

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Fifo<T> {
    pub(crate) const fn new() -> Self {
        Fifo {
            one: None,
            more: None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.one.is_some()) + self.more.as_ref().map_or(0, VecDeque::len)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.one.is_none()
    }

    pub(crate) fn push_back(&mut self, x: T) {
        if self.one.is_none() {
            self.one = Some(x);
        } else {
            self.more.get_or_insert_with(VecDeque::new).push_back(x);
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<T> {
        let first = self.one.take()?;
        self.one = self.more.as_mut().and_then(VecDeque::pop_front);
        Some(first)
    }

    /// Removes and returns the oldest element that `pred` accepts.
    pub(crate) fn remove_first(&mut self, mut pred: impl FnMut(&T) -> bool) -> Option<T> {
        if pred(self.one.as_ref()?) {
            return self.pop_front();
        }
        let more = self.more.as_mut()?;
        let at = more.iter().position(pred)?;
        more.remove(at)
    }
}

impl<T> IntoIterator for Fifo<T> {
    type Item = T;
    type IntoIter = std::iter::Chain<
        std::option::IntoIter<T>,
        std::iter::Flatten<std::option::IntoIter<VecDeque<T>>>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.one.into_iter().chain(self.more.into_iter().flatten())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::Fifo;

    #[test]
    fn order_and_removal() {
        let mut f = Fifo::new();
        assert!(f.is_empty());
        for i in 0..5 {
            f.push_back(i);
        }
        assert_eq!(f.len(), 5);
        assert_eq!(f.remove_first(|x| *x == 0), Some(0));
        assert_eq!(f.remove_first(|x| *x == 3), Some(3));
        assert_eq!(f.remove_first(|x| *x == 9), None);
        assert_eq!(f.pop_front(), Some(1));
        f.push_back(7);
        assert_eq!(f.into_iter().collect::<Vec<_>>(), vec![2, 4, 7]);
    }

    #[test]
    fn one_element_round_trip() {
        let mut f = Fifo::new();
        f.push_back("a");
        assert_eq!(f.len(), 1);
        assert_eq!(f.pop_front(), Some("a"));
        assert_eq!(f.pop_front(), None);
        assert!(f.is_empty());
        f.push_back("b");
        assert_eq!(f.into_iter().collect::<Vec<_>>(), vec!["b"]);
    }
}
