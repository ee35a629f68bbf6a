//! A map from names to values in name order, for the Hyper-V mock's hosts and each host's
//! VMs: every cmdlet and every view of a VM looks several of them up by name.
//!
//! Names are found by a binary search on a key made of their first eight bytes (big-endian,
//! zero-padded), which orders as the names do: a lookup compares integers, and compares whole
//! strings only for names longer than eight bytes that share their first eight. Places are
//! stable while nothing is inserted: a reader that looks at the same entries after every
//! event finds each by its place once instead of by its name each time.

use std::cmp::Ordering;

use crate::backend::Name;

/// Up to this many entries, a lookup scans the keys in order instead of bisecting them.
const SCANNED: usize = 8;

#[derive(Clone, PartialEq, Eq)]
pub struct NameMap<V> {
    /// Each name's key (`key`), in the order of `entries`.
    keys: Vec<u64>,
    /// Sorted by name.
    entries: Vec<(Name, V)>,
}

impl<V> Default for NameMap<V> {
    fn default() -> Self {
        NameMap {
            keys: Vec::new(),
            entries: Vec::new(),
        }
    }
}

/// The first eight bytes of `name`, zero-padded, as a big-endian integer: if one name's key
/// is less than another's, so is the name (a padding zero is a shorter name, which comes
/// first); equal keys say nothing for names of different lengths or of more than eight bytes.
#[inline(always)]
fn key(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let n = bytes.len();
    if let Some(head) = bytes.first_chunk::<8>() {
        return u64::from_be_bytes(*head);
    }
    // Shorter: a few fixed-size loads, no loop over the bytes (names of hosts and VMs are
    // mostly this short) and no copy of a variable length (a call to memcpy).
    if n >= 4 {
        // The first four bytes, and the last four, which overlap them: of those, the bytes
        // past the fourth, moved to their place.
        let first = u64::from(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
        let last = u64::from(u32::from_be_bytes([
            bytes[n - 4],
            bytes[n - 3],
            bytes[n - 2],
            bytes[n - 1],
        ]));
        let past_four = last & ((1u64 << (8 * (n - 4))) - 1);
        return first << 32 | past_four << (8 * (8 - n));
    }
    if n == 0 {
        return 0;
    }
    // One to three bytes: the first, the middle and the last (the same byte more than once
    // when there are fewer).
    let byte = |i: usize| u64::from(bytes[i]) << (56 - 8 * i);
    byte(0) | byte(n / 2) | byte(n - 1)
}

impl<V> NameMap<V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The place of `name`, or where it would go.
    #[inline(always)]
    fn search(&self, name: &str) -> Result<usize, usize> {
        let wanted = key(name);
        let short = name.len() <= 8;
        // A few entries (a host's VMs, a small farm's hosts) are scanned: cheaper than the
        // branches of a binary search.
        if self.keys.len() <= SCANNED {
            for (i, &k) in self.keys.iter().enumerate() {
                if k < wanted {
                    continue;
                }
                if k > wanted {
                    return Err(i);
                }
                let found = &*self.entries[i].0;
                if short && found.len() == name.len() {
                    return Ok(i);
                }
                match found.cmp(name) {
                    Ordering::Less => continue,
                    Ordering::Equal => return Ok(i),
                    Ordering::Greater => return Err(i),
                }
            }
            return Err(self.keys.len());
        }
        let (mut low, mut high) = (0, self.keys.len());
        while low < high {
            let mid = low + (high - low) / 2;
            let order = match self.keys[mid].cmp(&wanted) {
                Ordering::Equal => {
                    let found = &*self.entries[mid].0;
                    if short && found.len() == name.len() {
                        Ordering::Equal
                    } else {
                        found.cmp(name)
                    }
                }
                unequal => unequal,
            };
            match order {
                Ordering::Less => low = mid + 1,
                Ordering::Greater => high = mid,
                Ordering::Equal => return Ok(mid),
            }
        }
        Err(low)
    }

    /// The place of `name`.
    #[inline(always)]
    pub fn place(&self, name: &str) -> Option<usize> {
        self.search(name).ok()
    }

    /// The value at `place` (`place`).
    #[inline]
    pub fn at(&self, place: usize) -> &V {
        &self.entries[place].1
    }

    /// The value at `place`, to change.
    #[inline]
    pub fn at_mut(&mut self, place: usize) -> &mut V {
        &mut self.entries[place].1
    }

    #[inline(always)]
    pub fn get(&self, name: &str) -> Option<&V> {
        self.place(name).map(|i| &self.entries[i].1)
    }

    #[inline(always)]
    pub fn get_mut(&mut self, name: &str) -> Option<&mut V> {
        self.place(name).map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.place(name).is_some()
    }

    /// Adds or replaces `name`'s value; entries after it in name order move one place on.
    pub fn insert(&mut self, name: impl Into<Name>, value: V) -> Option<V> {
        let name: Name = name.into();
        match self.search(&name) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.keys.insert(i, key(&name));
                self.entries.insert(i, (name, value));
                None
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Name, &V)> + '_ {
        self.entries.iter().map(|(n, v)| (n, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &Name> + '_ {
        self.entries.iter().map(|(n, _)| n)
    }

    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.entries.iter_mut().map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<N: Into<Name>, V> FromIterator<(N, V)> for NameMap<V> {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(entries: I) -> Self {
        let mut map = NameMap::new();
        for (name, value) in entries {
            map.insert(name, value);
        }
        map
    }
}

impl<V> std::ops::Index<&str> for NameMap<V> {
    type Output = V;

    #[inline]
    fn index(&self, name: &str) -> &V {
        self.get(name).expect("no such name")
    }
}

impl<'a, V> IntoIterator for &'a NameMap<V> {
    type Item = (&'a Name, &'a V);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (Name, V)>, fn(&'a (Name, V)) -> (&'a Name, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(n, v)| (n, v))
    }
}

/// As the map by name it replaces printed itself.
impl<V: std::fmt::Debug> std::fmt::Debug for NameMap<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// As the map by name it replaces hashed itself (its length, then each name and value in
/// name order): the exhaustive explorer's state keys are unchanged.
impl<V: std::hash::Hash> std::hash::Hash for NameMap<V> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(self.entries.len());
        for (name, value) in &self.entries {
            name.hash(state);
            value.hash(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::sim::hash_of;
    use std::collections::BTreeMap;

    #[test]
    fn a_key_is_the_first_eight_bytes_zero_padded_whatever_the_length() {
        let text = "abcdefghijkl\u{0}\u{7f}\u{80}xyz";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let Some(name) = text.get(start..end) else {
                    continue;
                };
                let mut padded = [0u8; 8];
                let n = name.len().min(8);
                padded[..n].copy_from_slice(&name.as_bytes()[..n]);
                assert_eq!(key(name), u64::from_be_bytes(padded), "{name:?}");
            }
        }
    }

    #[test]
    fn a_name_map_keeps_name_order_and_hashes_and_prints_as_the_map_did() {
        let mut names = NameMap::new();
        let mut map = BTreeMap::new();
        for (name, value) in [("c2s1", "b"), ("c1s2", "a"), ("c1s1", "a"), ("c2s1", "c")] {
            assert_eq!(
                names.insert(name.to_string(), value),
                map.insert(name.to_string(), value)
            );
        }
        let order: Vec<String> = names.keys().map(|k| k.to_string()).collect();
        assert_eq!(order, map.keys().cloned().collect::<Vec<_>>());
        assert_eq!(*names.at(names.place("c2s1").unwrap()), "c");
        assert!(names.get("m1").is_none());
        assert_eq!(hash_of(&names), hash_of(&map));
        assert_eq!(format!("{names:?}"), format!("{map:?}"));
    }

    /// Names that share their first eight bytes, prefixes of each other, names with a NUL
    /// (which pads like a shorter name), and the empty name: every one is found, and no
    /// name that is not there is.
    #[test]
    fn names_are_found_as_a_sorted_map_finds_them() {
        let names = [
            "",
            "a",
            "a\0",
            "ab",
            "abcdefgh",
            "abcdefgh1",
            "abcdefgh2",
            "abcdefghij",
            "abcdefg",
            "b",
            "c1s1.ecx.example",
            "c1s1",
            "c1s10",
            "\u{e9}t\u{e9}",
            "zz",
        ];
        let mut map = NameMap::new();
        let mut reference = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            map.insert(name.to_string(), i);
            reference.insert(name.to_string(), i);
        }
        assert_eq!(
            map.keys().map(|k| k.to_string()).collect::<Vec<_>>(),
            reference.keys().cloned().collect::<Vec<_>>()
        );
        for probe in names
            .iter()
            .chain(&["abcdefgh0", "a\0\0", "c1s", "abcdefghi", "zzz"])
        {
            assert_eq!(map.get(probe), reference.get(*probe), "{probe:?}");
        }
    }
}
