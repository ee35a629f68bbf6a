//! The lease service's state: named leases with a time to live, each grant numbered by an
//! epoch that only grows, and the VMs' role records. A holder whose lease ran out and was
//! granted to another is fenced: its release (carrying its old epoch) is refused and changes
//! nothing. The state is saved after every change (the master's failover group moves it with
//! the shared disk), so a master that restarts keeps the epochs and role records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::backend::{RoleRecord, RoleRecords};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Held {
    pub holder: String,
    pub epoch: u64,
    /// Wall-clock milliseconds since the Unix epoch (it must survive a restart).
    pub expires_ms: u64,
}

/// The answer to an acquisition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acquired {
    Granted { epoch: u64, expires_ms: u64 },
    Taken { holder: String, expires_ms: u64 },
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

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseBook {
    pub leases: BTreeMap<String, Held>,
    pub roles: RoleRecords,
    /// The last epoch granted (never reused, also across restarts).
    pub epoch: u64,
}

impl LeaseBook {
    /// Grants the lease if it is free, ran out, or is `holder`'s already (a new epoch each
    /// time, so an older grant to the same holder is fenced too).
    pub fn acquire(&mut self, name: &str, holder: &str, ttl_ms: u64, now_ms: u64) -> Acquired {
        if let Some(h) = self.leases.get(name) {
            if h.holder != holder && h.expires_ms > now_ms {
                return Acquired::Taken {
                    holder: h.holder.clone(),
                    expires_ms: h.expires_ms,
                };
            }
        }
        self.epoch += 1;
        let expires_ms = now_ms.saturating_add(ttl_ms);
        self.leases.insert(
            name.to_string(),
            Held {
                holder: holder.to_string(),
                epoch: self.epoch,
                expires_ms,
            },
        );
        Acquired::Granted {
            epoch: self.epoch,
            expires_ms,
        }
    }

    /// Releases the grant `epoch` of `holder`; a lease already free (released, or ran out
    /// and not granted again) releases trivially.
    pub fn release(&mut self, name: &str, holder: &str, epoch: u64) -> Result<(), Fenced> {
        match self.leases.get(name) {
            None => Ok(()),
            Some(h) if h.holder == holder && h.epoch == epoch => {
                self.leases.remove(name);
                Ok(())
            }
            Some(_) => Err(Fenced::Stale {
                name: name.to_string(),
                holder: holder.to_string(),
                epoch,
            }),
        }
    }

    pub fn role(&self, vm: &str) -> Option<RoleRecord> {
        self.roles.get(vm)
    }

    /// Writes the record if `epoch` is later than the one held.
    pub fn claim_role(&mut self, vm: &str, cluster: &str, epoch: u64) -> bool {
        self.roles.claim(vm, cluster, epoch)
    }

    /// Drops the leases that ran out (they grant as free anyway; this keeps the file short).
    pub fn expire(&mut self, now_ms: u64) {
        self.leases.retain(|_, h| h.expires_ms > now_ms);
    }
}

/// The book and where it is saved.
pub struct StoredBook {
    pub book: LeaseBook,
    path: Option<PathBuf>,
}

impl StoredBook {
    /// Loads the saved state, or starts empty if there is none yet.
    pub fn open(path: Option<&Path>) -> Result<StoredBook, String> {
        let book = match path {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| format!("cannot read the lease state {}: {e}", p.display()))?;
                serde_json::from_str(&text)
                    .map_err(|e| format!("the lease state {} is damaged: {e}", p.display()))?
            }
            _ => LeaseBook::default(),
        };
        Ok(StoredBook {
            book,
            path: path.map(Path::to_path_buf),
        })
    }

    /// Saves atomically (a crash mid-write leaves the previous state).
    pub fn save(&self) -> Result<(), String> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let text = serde_json::to_string_pretty(&self.book).expect("the book serialises");
        crate::report::atomic::write(path, text.as_bytes())
            .map_err(|e| format!("cannot save the lease state {}: {e}", path.display()))
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_expiry_and_epoch_fencing() {
        let mut b = LeaseBook::default();
        let Acquired::Granted { epoch: e1, .. } = b.acquire("replication/vm", "c1s1", 1000, 0)
        else {
            panic!("free lease not granted")
        };
        assert!(matches!(
            b.acquire("replication/vm", "c2s1", 1000, 500),
            Acquired::Taken { .. }
        ));
        // The time to live ran out: another holder gets it, with a later epoch.
        let Acquired::Granted { epoch: e2, .. } = b.acquire("replication/vm", "c2s1", 1000, 1000)
        else {
            panic!("expired lease not granted")
        };
        assert!(e2 > e1);
        // The first holder, unaware, releases: fenced, and the new grant stands.
        assert!(b.release("replication/vm", "c1s1", e1).is_err());
        assert_eq!(b.leases["replication/vm"].holder, "c2s1");
        assert!(b.release("replication/vm", "c2s1", e2).is_ok());
        assert!(b.release("replication/vm", "c2s1", e2).is_ok());
    }

    #[test]
    fn role_records_only_move_forward() {
        let mut b = LeaseBook::default();
        assert!(b.claim_role("vm", "c2", 1));
        assert!(!b.claim_role("vm", "c1", 1));
        assert!(b.claim_role("vm", "c1", 2));
        assert_eq!(b.role("vm").unwrap().primary, "c1");
    }

    #[test]
    fn the_state_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lease.json");
        let mut s = StoredBook::open(Some(&path)).unwrap();
        s.book.claim_role("vm", "c2", 3);
        s.book.acquire("l", "h", 10, 0);
        s.save().unwrap();
        let again = StoredBook::open(Some(&path)).unwrap();
        assert_eq!(again.book, s.book);
    }
}
