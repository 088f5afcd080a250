//! Link-state database of one flooding scope (an area, or the AS for type-5 LSAs), keyed by
//! (type, Link State ID, Advertising Router). Ages are derived from the install time, so no
//! per-second work is needed to age entries; `age()` reads the current age.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::packet::lsa::MAX_AGE;
use crate::packet::{Lsa, LsaHeader, LsaKey};

#[derive(Debug, Clone)]
pub struct Entry {
    pub lsa: Lsa,
    /// When this instance was installed (its age was `lsa.header.age` then).
    pub installed: Instant,
    /// Received by flooding (MinLSArrival applies) rather than originated.
    pub from_flooding: bool,
}

impl Entry {
    pub fn age(&self, now: Instant) -> u16 {
        if self.lsa.header.age >= MAX_AGE {
            return MAX_AGE;
        }
        let elapsed = now.saturating_duration_since(self.installed).as_secs();
        (self.lsa.header.age as u64 + elapsed).min(MAX_AGE as u64) as u16
    }

    /// The header with the current age.
    pub fn header(&self, now: Instant) -> LsaHeader {
        LsaHeader {
            age: self.age(now),
            ..self.lsa.header
        }
    }

    /// A copy ready to send: current age plus the interface's transmit delay.
    pub fn for_transmit(&self, now: Instant, transmit_delay: u16) -> Lsa {
        let mut lsa = self.lsa.clone();
        lsa.header.age = self.age(now).saturating_add(transmit_delay).min(MAX_AGE);
        lsa
    }

    pub fn is_max_age(&self, now: Instant) -> bool {
        self.age(now) >= MAX_AGE
    }

    pub fn installed_within(&self, now: Instant, d: Duration) -> bool {
        now.saturating_duration_since(self.installed) < d
    }
}

#[derive(Debug, Default)]
pub struct Lsdb {
    entries: BTreeMap<LsaKey, Entry>,
}

impl Lsdb {
    pub fn get(&self, key: &LsaKey) -> Option<&Entry> {
        self.entries.get(key)
    }

    /// Installs an instance, replacing any previous one; returns the previous one.
    pub fn install(&mut self, lsa: Lsa, now: Instant, from_flooding: bool) -> Option<Entry> {
        self.entries.insert(
            lsa.header.key(),
            Entry {
                lsa,
                installed: now,
                from_flooding,
            },
        )
    }

    pub fn remove(&mut self, key: &LsaKey) -> Option<Entry> {
        self.entries.remove(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&LsaKey, &Entry)> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Headers of every entry with current ages (for a DD summary list).
    pub fn headers(&self, now: Instant) -> Vec<LsaHeader> {
        self.entries.values().map(|e| e.header(now)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packet::lsa::{LsaBody, RouterLsa};
    use std::net::Ipv4Addr;

    fn lsa(age: u16) -> Lsa {
        let mut l = Lsa {
            header: LsaHeader {
                age,
                options: 2,
                ls_type: 1,
                id: Ipv4Addr::new(1, 1, 1, 1),
                adv_rtr: Ipv4Addr::new(1, 1, 1, 1),
                seq: 0x8000_0001u32 as i32,
                checksum: 0,
                length: 0,
            },
            body: LsaBody::Router(RouterLsa {
                flags: 0,
                reserved: 0,
                links: vec![],
            }),
        };
        l.finalize();
        l
    }

    #[test]
    fn ages_with_time_and_caps_at_max_age() {
        let t0 = Instant::now();
        let mut db = Lsdb::default();
        db.install(lsa(100), t0, true);
        let key = lsa(0).header.key();
        let e = db.get(&key).unwrap();
        assert_eq!(e.age(t0), 100);
        assert_eq!(e.age(t0 + Duration::from_secs(50)), 150);
        assert_eq!(e.age(t0 + Duration::from_secs(5000)), MAX_AGE);
        assert_eq!(
            e.for_transmit(t0 + Duration::from_secs(10), 1).header.age,
            111
        );
        assert!(e.installed_within(t0 + Duration::from_millis(500), Duration::from_secs(1)));
        assert!(!e.installed_within(t0 + Duration::from_secs(2), Duration::from_secs(1)));
    }
}
