//! The farm's hosts by name, in name order, with a stable place for each: a reader that
//! looks at the same hosts after every event (the world's view of a VM) finds a host by its
//! place once instead of by its name each time. Hosts are added when the farm is built and
//! never removed, so places only move while hosts are still being added.

use super::hyperv::HostState;

#[derive(Clone, Default, PartialEq, Eq)]
pub struct Hosts {
    /// Sorted by name.
    entries: Vec<(String, HostState)>,
}

impl Hosts {
    /// The place of host `name`.
    // Called for every cmdlet and view: inlined where it is called, as the map's were.
    #[inline]
    pub fn place(&self, name: &str) -> Option<usize> {
        self.entries
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
    }

    /// The host at `place` (`place`).
    #[inline]
    pub fn at(&self, place: usize) -> &HostState {
        &self.entries[place].1
    }

    #[inline]
    pub fn get(&self, name: &str) -> Option<&HostState> {
        self.place(name).map(|i| &self.entries[i].1)
    }

    #[inline]
    pub fn get_mut(&mut self, name: &str) -> Option<&mut HostState> {
        self.place(name).map(|i| &mut self.entries[i].1)
    }

    /// Adds or replaces host `name`; hosts after it in name order move one place on.
    pub fn insert(&mut self, name: String, host: HostState) -> Option<HostState> {
        match self.entries.binary_search_by(|(n, _)| n.cmp(&name)) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, host)),
            Err(i) => {
                self.entries.insert(i, (name, host));
                None
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &HostState)> + '_ {
        self.entries.iter().map(|(n, h)| (n, h))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl std::ops::Index<&str> for Hosts {
    type Output = HostState;

    #[inline]
    fn index(&self, name: &str) -> &HostState {
        self.get(name).expect("no such host")
    }
}

impl<'a> IntoIterator for &'a Hosts {
    type Item = (&'a String, &'a HostState);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, HostState)>,
        fn(&'a (String, HostState)) -> (&'a String, &'a HostState),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(n, h)| (n, h))
    }
}

/// As the map of hosts by name it replaces printed itself.
impl std::fmt::Debug for Hosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// As the map of hosts by name it replaces hashed itself (its length, then each name and
/// host in name order): the exhaustive explorer's state keys are unchanged.
impl std::hash::Hash for Hosts {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_usize(self.entries.len());
        for (name, host) in &self.entries {
            name.hash(state);
            host.hash(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::hash::{Hash, Hasher};

    fn host(cluster: &str) -> HostState {
        HostState {
            cluster: cluster.to_string(),
            up: true,
            connected: true,
            disk: false,
            vms: BTreeMap::new(),
        }
    }

    fn hash_of(value: &impl Hash) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        value.hash(&mut h);
        h.finish()
    }

    #[test]
    fn hosts_keep_name_order_and_hash_and_print_as_the_map_did() {
        let mut hosts = Hosts::default();
        let mut map = BTreeMap::new();
        for (name, cluster) in [("c2s1", "b"), ("c1s2", "a"), ("c1s1", "a"), ("c2s1", "c")] {
            hosts.insert(name.to_string(), host(cluster));
            map.insert(name.to_string(), host(cluster));
        }
        let names: Vec<_> = hosts.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names, map.keys().cloned().collect::<Vec<_>>());
        assert_eq!(hosts.at(hosts.place("c2s1").unwrap()).cluster, "c");
        assert!(hosts.get("m1").is_none());
        assert_eq!(hash_of(&hosts), hash_of(&map));
        assert_eq!(format!("{hosts:?}"), format!("{map:?}"));
    }
}
