//! Replication links: how much of its link's bandwidth each VM's replication cycles get.
//!
//! Sharing rule: a link's bandwidth is shared in proportion to the churn of the VMs that
//! replicate over it (in either direction), so every VM on the link transfers an interval's
//! writes in the same time, `interval × total churn / bandwidth`, and the link keeps up
//! exactly when its bandwidth covers the total churn, as any fair, work-conserving sharing
//! would. The share is fixed for the replication: a VM whose replication is broken leaves
//! its share unused rather than speeding the others up (an assumption; it errs on the slow
//! side, and only while some replication is broken).
//!
//! Each VM's churn is drawn once per replication from its own stream, so adding a VM changes
//! no other VM's draw (only the link's total).

use rand::SeedableRng;

use crate::engine::{stream_seed, Stream};
use crate::rate::BytesPerSecond;
use crate::scenario::Scenario;
use crate::time::Micros;

/// What a VM's cycles get of its link, for one replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkShare {
    /// The churn of every VM on the link, bytes per second.
    pub link_churn: BytesPerSecond,
    pub bandwidth: BytesPerSecond,
}

impl LinkShare {
    /// How long the writes made over `span` take to cross the link at the VM's share.
    pub fn transfer(&self, span: Micros) -> Micros {
        let t = span as u128 * self.link_churn as u128 / self.bandwidth as u128;
        t.min(Micros::MAX as u128) as Micros
    }

    /// Bandwidth over the link's total churn: below 1, cycles cannot keep up.
    pub fn headroom(&self) -> f64 {
        self.bandwidth as f64 / self.link_churn as f64
    }

    /// ρ − 1, ρ being the link's total churn over its bandwidth: how much longer each transfer
    /// takes than the writes it carries took to make (negative when the link keeps up).
    pub fn excess(&self) -> f64 {
        (self.link_churn as f64 - self.bandwidth as f64) / self.bandwidth as f64
    }

    pub fn keeps_up(&self) -> bool {
        self.link_churn <= self.bandwidth
    }
}

/// Each VM's share of its link in replication `replication`, in the scenario's VM order;
/// `None` for a VM whose writes never limit its replication (no churn, zero churn drawn, or
/// no link between its clusters).
pub fn link_shares(scenario: &Scenario, seed: u64, replication: u64) -> Vec<Option<LinkShare>> {
    let churn: Vec<BytesPerSecond> = scenario
        .vms
        .iter()
        .map(|v| match (&v.churn, v.link) {
            (Some(d), Some(_)) => {
                let stream = stream_seed(seed, replication, &format!("vm/{}/churn", v.name));
                d.sample(&mut Stream::seed_from_u64(stream))
            }
            _ => 0,
        })
        .collect();
    let mut link_churn = vec![0 as BytesPerSecond; scenario.links.len()];
    for (v, &c) in scenario.vms.iter().zip(&churn) {
        if let Some(l) = v.link {
            link_churn[l] = link_churn[l].saturating_add(c);
        }
    }
    scenario
        .vms
        .iter()
        .zip(&churn)
        .map(|(v, &c)| {
            let l = v.link.filter(|_| c > 0)?;
            Some(LinkShare {
                link_churn: link_churn[l],
                bandwidth: scenario.links[l].bandwidth,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::MICROS_PER_SECOND as S;

    #[test]
    fn every_vm_on_a_link_moves_an_interval_in_the_same_time() {
        let share = LinkShare {
            link_churn: 3_000_000,
            bandwidth: 12_000_000,
        };
        assert_eq!(share.transfer(300 * S), 75 * S);
        assert_eq!(share.headroom(), 4.0);
        assert!(share.keeps_up());
        let doubled = LinkShare {
            link_churn: 6_000_000,
            ..share
        };
        assert_eq!(doubled.headroom(), 2.0);
        assert_eq!(doubled.transfer(300 * S), 150 * S);
        assert_eq!(
            LinkShare {
                link_churn: u64::MAX,
                bandwidth: 1
            }
            .transfer(u64::MAX),
            u64::MAX
        );
    }
}
