//! The coordination service's rules, one implementation for the simulated witness
//! (`sim::LeaseTable`) and the production master's lease service (`LeaseBook`): named leases,
//! one holder each, granted when free, ran out or already the holder's, every grant numbered
//! by an epoch that only grows; a release that carries an older epoch is fenced; and the VMs'
//! role records. How a refused acquisition waits is not a rule of the service: the simulator
//! parks the caller and hands it the lease at release (a long poll), production clients ask
//! again.
//!
//! Times are ticks of the owner's clock (the simulator's microseconds, production's
//! wall-clock milliseconds, which must survive a restart): the rules only add and compare
//! them, so one unit serves as well as the other.

use std::collections::BTreeMap;

use super::{RoleRecord, RoleRecords};

/// A standing grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Held {
    pub holder: String,
    pub epoch: u64,
    /// The tick from which the lease counts as free.
    pub expires: u64,
}

/// The answer to an acquisition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquired {
    Granted { epoch: u64, expires: u64 },
    Taken { holder: String, expires: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fenced {
    #[error("lease {name:?} is not held by {holder:?} at epoch {epoch}: it ran out and was granted again")]
    Stale {
        name: String,
        holder: String,
        epoch: u64,
    },
}

/// The leases and role records of one coordination service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Leases {
    held: BTreeMap<String, Held>,
    /// The last epoch granted (never reused: production saves it across restarts).
    epoch: u64,
    roles: RoleRecords,
}

impl Leases {
    /// The state as saved: the standing grants, the last epoch granted, the role records.
    pub fn from_parts(held: BTreeMap<String, Held>, epoch: u64, roles: RoleRecords) -> Leases {
        Leases { held, epoch, roles }
    }

    pub fn held(&self) -> &BTreeMap<String, Held> {
        &self.held
    }

    pub fn last_epoch(&self) -> u64 {
        self.epoch
    }

    pub fn roles(&self) -> &RoleRecords {
        &self.roles
    }

    /// Grants the lease if it is free, ran out (`expires <= now`), or is `holder`'s already: a
    /// new epoch each time, so an older grant to the same holder is fenced too.
    pub fn acquire(&mut self, name: &str, holder: &str, ttl: u64, now: u64) -> Acquired {
        if let Some(h) = self.held.get(name) {
            if h.holder != holder && h.expires > now {
                return Acquired::Taken {
                    holder: h.holder.clone(),
                    expires: h.expires,
                };
            }
        }
        self.epoch += 1;
        let expires = now.saturating_add(ttl);
        self.held.insert(
            name.to_string(),
            Held {
                holder: holder.to_string(),
                epoch: self.epoch,
                expires,
            },
        );
        Acquired::Granted {
            epoch: self.epoch,
            expires,
        }
    }

    /// Releases the grant `epoch` of `holder`; a lease already free (released, or ran out
    /// and dropped) releases trivially.
    pub fn release(&mut self, name: &str, holder: &str, epoch: u64) -> Result<(), Fenced> {
        match self.held.get(name) {
            None => Ok(()),
            Some(h) if h.holder == holder && h.epoch == epoch => {
                self.held.remove(name);
                Ok(())
            }
            Some(_) => Err(Fenced::Stale {
                name: name.to_string(),
                holder: holder.to_string(),
                epoch,
            }),
        }
    }

    /// The epoch of `holder`'s standing grant of `name`, if it has one.
    pub fn epoch_held_by(&self, name: &str, holder: &str) -> Option<u64> {
        self.held
            .get(name)
            .filter(|h| h.holder == holder)
            .map(|h| h.epoch)
    }

    pub fn holder(&self, name: &str) -> Option<&str> {
        self.held.get(name).map(|h| h.holder.as_str())
    }

    /// The time to live of grant `epoch` ran out: frees the lease if that grant still stands
    /// (not released, not renewed, not granted again since); true if it did.
    pub fn expire_grant(&mut self, name: &str, epoch: u64) -> bool {
        let standing = self.held.get(name).is_some_and(|h| h.epoch == epoch);
        if standing {
            self.held.remove(name);
        }
        standing
    }

    /// Drops every grant that ran out by `now` (they grant as free anyway; this keeps a saved
    /// state short).
    pub fn expire_all(&mut self, now: u64) {
        self.held.retain(|_, h| h.expires > now);
    }

    pub fn role(&self, vm: &str) -> Option<RoleRecord> {
        self.roles.get(vm)
    }

    /// Writes the record if `epoch` is later than the one held.
    pub fn claim_role(&mut self, vm: &str, cluster: &str, epoch: u64) -> bool {
        self.roles.claim(vm, cluster, epoch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(a: Acquired) -> u64 {
        match a {
            Acquired::Granted { epoch, .. } => epoch,
            Acquired::Taken { holder, .. } => panic!("taken by {holder}"),
        }
    }

    #[test]
    fn ttl_expiry_and_epoch_fencing() {
        let mut l = Leases::default();
        let e1 = granted(l.acquire("replication/vm", "c1s1", 1000, 0));
        assert_eq!(
            l.acquire("replication/vm", "c2s1", 1000, 500),
            Acquired::Taken {
                holder: "c1s1".into(),
                expires: 1000
            }
        );
        // The time to live ran out: another holder gets it, with a later epoch.
        let e2 = granted(l.acquire("replication/vm", "c2s1", 1000, 1000));
        assert!(e2 > e1);
        // The first holder, unaware, releases: fenced, and the new grant stands.
        let fenced = l.release("replication/vm", "c1s1", e1).unwrap_err();
        assert!(fenced.to_string().contains("ran out"), "{fenced}");
        assert_eq!(l.holder("replication/vm"), Some("c2s1"));
        assert!(l.release("replication/vm", "c2s1", e2).is_ok());
        assert!(l.release("replication/vm", "c2s1", e2).is_ok());
    }

    #[test]
    fn a_renewal_fences_the_holders_older_grant() {
        let mut l = Leases::default();
        let e1 = granted(l.acquire("l", "h", 10, 0));
        let e2 = granted(l.acquire("l", "h", 10, 5));
        assert_eq!(l.epoch_held_by("l", "h"), Some(e2));
        assert_eq!(l.epoch_held_by("l", "other"), None);
        // The first grant's timer fires: the renewal stands.
        assert!(!l.expire_grant("l", e1));
        assert!(l.release("l", "h", e1).is_err());
        assert!(l.expire_grant("l", e2));
        assert_eq!(l.holder("l"), None);
    }

    #[test]
    fn expired_grants_are_dropped_at_their_tick() {
        let mut l = Leases::default();
        l.acquire("a", "h", 10, 0);
        l.acquire("b", "h", 20, 0);
        l.expire_all(10);
        assert_eq!(l.holder("a"), None);
        assert_eq!(l.holder("b"), Some("h"));
        assert_eq!(l.last_epoch(), 2);
    }

    #[test]
    fn role_records_only_move_forward() {
        let mut l = Leases::default();
        assert!(l.claim_role("vm", "c2", 1));
        assert!(!l.claim_role("vm", "c1", 1));
        assert!(l.claim_role("vm", "c1", 2));
        assert_eq!(l.role("vm").unwrap().primary, "c1");
    }
}
