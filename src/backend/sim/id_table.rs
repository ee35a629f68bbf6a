//! Entries keyed by task or call id: the live tasks, their calls in flight. There are a few
//! at a time and ids only grow, so a list kept in id order is cheaper to search, to add to
//! and to take from than a map is to keep, and it iterates (and hashes) as the map did.

/// A list of `(id, value)` in increasing id order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdTable<V> {
    entries: Vec<(u64, V)>,
}

impl<V> Default for IdTable<V> {
    fn default() -> Self {
        IdTable {
            entries: Vec::new(),
        }
    }
}

impl<V> IdTable<V> {
    fn position(&self, id: u64) -> Result<usize, usize> {
        // New ids come last: look there first.
        match self.entries.last() {
            None => Err(0),
            Some(&(last, _)) if last < id => Err(self.entries.len()),
            _ => self.entries.binary_search_by_key(&id, |(k, _)| *k),
        }
    }

    /// Sets the value of `id`, returning the one it replaces.
    pub fn insert(&mut self, id: u64, value: V) -> Option<V> {
        match self.position(id) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (id, value));
                None
            }
        }
    }

    pub fn get(&self, id: u64) -> Option<&V> {
        let i = self.position(id).ok()?;
        Some(&self.entries[i].1)
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut V> {
        let i = self.position(id).ok()?;
        Some(&mut self.entries[i].1)
    }

    pub fn remove(&mut self, id: u64) -> Option<V> {
        let i = self.position(id).ok()?;
        Some(self.entries.remove(i).1)
    }

    pub fn contains(&self, id: u64) -> bool {
        self.position(id).is_ok()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.entries.iter().map(|(id, _)| *id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (u64, &V)> + '_ {
        self.entries.iter().map(|(id, v)| (*id, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::hash_of;
    use std::collections::BTreeMap;

    #[test]
    fn it_keeps_id_order_and_hashes_as_the_map_did() {
        let mut table = IdTable::default();
        let mut map = BTreeMap::new();
        for (id, v) in [
            (3u64, 'c'),
            (1, 'a'),
            (7, 'g'),
            (5, 'e'),
            (9, 'i'),
            (1, 'A'),
        ] {
            assert_eq!(table.insert(id, v), map.insert(id, v));
        }
        assert_eq!(table.remove(7), map.remove(&7));
        assert_eq!(table.remove(8), map.remove(&8));
        assert_eq!(
            table.ids().collect::<Vec<_>>(),
            map.keys().copied().collect::<Vec<_>>()
        );
        assert_eq!(table.get(1), Some(&'A'));
        assert!(table.contains(9) && !table.contains(2));
        assert_eq!(hash_of(&table), hash_of(&map));
    }
}
