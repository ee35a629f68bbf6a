//! The lease service's state: the coordination service's rules (`backend::Leases`, the ones
//! the simulator runs) with wall-clock times: named leases with a time to live, each grant
//! numbered by an epoch that only grows, and the VMs' role records. A holder whose lease ran
//! out and was granted to another is fenced: its release (carrying its old epoch) is refused
//! and changes nothing. The state is saved after every change (the master's failover group
//! moves it with the shared disk), so a master that restarts keeps the epochs and role records.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use crate::backend::leases::{Acquired, Fenced};
use crate::backend::leases::{Held, Leases};
use crate::backend::{RoleRecord, RoleRecords};

/// The service's leases and role records, with times in wall-clock milliseconds since the
/// Unix epoch (a grant must outlive a restart of the master).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "SavedBook", into = "SavedBook")]
pub struct LeaseBook {
    leases: Leases,
}

/// The saved state's format (kept as it was when the book held these fields itself, so a
/// state file written by an earlier version still loads).
#[derive(Serialize, Deserialize)]
struct SavedBook {
    leases: BTreeMap<String, SavedGrant>,
    roles: RoleRecords,
    /// The last epoch granted (never reused, also across restarts).
    epoch: u64,
}

#[derive(Serialize, Deserialize)]
struct SavedGrant {
    holder: String,
    epoch: u64,
    expires_ms: u64,
}

impl From<SavedBook> for LeaseBook {
    fn from(saved: SavedBook) -> LeaseBook {
        let held = saved
            .leases
            .into_iter()
            .map(|(name, g)| {
                let held = Held {
                    holder: g.holder,
                    epoch: g.epoch,
                    expires: g.expires_ms,
                };
                (name, held)
            })
            .collect();
        LeaseBook {
            leases: Leases::from_parts(held, saved.epoch, saved.roles),
        }
    }
}

impl From<LeaseBook> for SavedBook {
    fn from(book: LeaseBook) -> SavedBook {
        let leases = book
            .leases
            .held()
            .iter()
            .map(|(name, h)| {
                let grant = SavedGrant {
                    holder: h.holder.clone(),
                    epoch: h.epoch,
                    expires_ms: h.expires,
                };
                (name.clone(), grant)
            })
            .collect();
        SavedBook {
            leases,
            roles: book.leases.roles().clone(),
            epoch: book.leases.last_epoch(),
        }
    }
}

impl LeaseBook {
    /// Grants the lease if it is free, ran out, or is `holder`'s already (a new epoch each
    /// time, so an older grant to the same holder is fenced too); `expires` in milliseconds.
    pub fn acquire(&mut self, name: &str, holder: &str, ttl_ms: u64, now_ms: u64) -> Acquired {
        self.leases.acquire(name, holder, ttl_ms, now_ms)
    }

    /// Releases the grant `epoch` of `holder`; a lease already free (released, or ran out
    /// and not granted again) releases trivially.
    pub fn release(&mut self, name: &str, holder: &str, epoch: u64) -> Result<(), Fenced> {
        self.leases.release(name, holder, epoch)
    }

    pub fn holder(&self, name: &str) -> Option<&str> {
        self.leases.holder(name)
    }

    pub fn role(&self, vm: &str) -> Option<RoleRecord> {
        self.leases.role(vm)
    }

    /// Writes the record if `epoch` is later than the one held.
    pub fn claim_role(&mut self, vm: &str, cluster: &str, epoch: u64) -> bool {
        self.leases.claim_role(vm, cluster, epoch)
    }

    /// Drops the leases that ran out (they grant as free anyway; this keeps the file short).
    pub fn expire(&mut self, now_ms: u64) {
        self.leases.expire_all(now_ms);
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

    /// The saved format, field for field: a state file of an earlier version must load, and
    /// one written now must load in it.
    #[test]
    fn the_saved_format_is_unchanged() {
        let saved = r#"{
  "leases": {
    "replication/vm1": {
      "holder": "c1s1",
      "epoch": 7,
      "expires_ms": 1600000
    }
  },
  "roles": {
    "vm1": {
      "primary": "cluster2",
      "epoch": 3
    }
  },
  "epoch": 7
}"#;
        let mut book: LeaseBook = serde_json::from_str(saved).unwrap();
        assert_eq!(serde_json::to_string_pretty(&book).unwrap(), saved);
        assert_eq!(book.holder("replication/vm1"), Some("c1s1"));
        assert_eq!(book.role("vm1").unwrap().primary, "cluster2");
        // The saved epoch goes on: the next grant is 8, and it ran out at 1,600,000 ms.
        assert_eq!(
            book.acquire("replication/vm1", "c2s1", 1000, 1_600_000),
            Acquired::Granted {
                epoch: 8,
                expires: 1_601_000
            }
        );
        assert!(book.release("replication/vm1", "c1s1", 7).is_err());
    }
}
