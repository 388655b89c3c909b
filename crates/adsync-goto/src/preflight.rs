//! The licence pre-flight: before operations are applied, each licence's free seats
//! (`seats − userCount`) are compared with what the operations add, in the order given
//! (priority order), so that "out of licences" is reported per licence with the users affected
//! and the operations that fit can still be applied.
//!
//! Seats the same operations release (a suspension, a licence removed) count as free: the
//! executor is expected to apply releases before additions. A disabled or unknown licence has no
//! free seat.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::model::{GotoSnapshot, Key, Operation, Product};

/// One licence that the operations ask more seats of than it has free.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shortage {
    /// The licence's products.
    pub products: BTreeSet<Product>,
    /// Seats free before the operations (releases included).
    pub free: u64,
    /// Seats the operations ask for.
    pub wanted: u64,
    /// The users left without a seat, in operation order.
    pub users: Vec<String>,
}

/// The verdict on a list of operations.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Preflight {
    /// Indices of the operations that fit (every operation that adds no licence fits).
    pub fits: Vec<usize>,
    /// Indices of the operations left out, each for want of a seat.
    pub left_out: Vec<usize>,
    /// Per licence short of seats.
    pub shortages: BTreeMap<Key, Shortage>,
}

/// Checks `operations`, in order, against the free seats of `snapshot`'s licences.
pub fn preflight(snapshot: &GotoSnapshot, operations: &[Operation]) -> Preflight {
    let mut free = free_seats(snapshot, operations);
    let initial = free.clone();
    let mut verdict = Preflight::default();
    for (index, operation) in operations.iter().enumerate() {
        let added = operation.licences_added();
        let short: Vec<&Key> = added
            .iter()
            .filter(|licence| free.get(*licence).copied().unwrap_or(0) == 0)
            .collect();
        if short.is_empty() {
            for licence in &added {
                if let Some(seats) = free.get_mut(licence) {
                    *seats -= 1;
                }
            }
            verdict.fits.push(index);
            continue;
        }
        verdict.left_out.push(index);
        for licence in short {
            let shortage = verdict
                .shortages
                .entry(licence.clone())
                .or_insert_with(|| Shortage {
                    products: products_of(snapshot, licence),
                    free: initial.get(licence).copied().unwrap_or(0),
                    wanted: wanted(operations, licence),
                    users: Vec::new(),
                });
            shortage.users.push(operation.email().to_owned());
        }
    }
    verdict
}

/// Free seats per licence, with the seats the operations release.
fn free_seats(snapshot: &GotoSnapshot, operations: &[Operation]) -> BTreeMap<Key, u64> {
    let mut free: BTreeMap<Key, u64> = snapshot
        .licences
        .iter()
        .map(|l| (l.key.clone(), if l.enabled { l.free_seats() } else { 0 }))
        .collect();
    let enabled: BTreeSet<&Key> = snapshot
        .licences
        .iter()
        .filter(|l| l.enabled)
        .map(|l| &l.key)
        .collect();
    let holders: BTreeMap<&Key, &BTreeSet<Key>> = snapshot
        .users
        .iter()
        .map(|u| (&u.key, &u.licences))
        .collect();
    let mut released: BTreeSet<(Key, Key)> = BTreeSet::new();
    for operation in operations {
        let (user, kept) = match operation {
            Operation::Suspend { user, .. } => (user, BTreeSet::new()),
            Operation::SetLicences { user, after, .. } => (user, after.clone()),
            _ => continue,
        };
        let Some(held) = holders.get(user) else {
            continue;
        };
        for licence in held.difference(&kept) {
            if released.insert((user.clone(), licence.clone()))
                && let Some(seats) = free.get_mut(licence)
                && enabled.contains(licence)
            {
                *seats += 1;
            }
        }
    }
    free
}

fn products_of(snapshot: &GotoSnapshot, licence: &Key) -> BTreeSet<Product> {
    snapshot
        .licences
        .iter()
        .find(|l| &l.key == licence)
        .map(|l| l.products.clone())
        .unwrap_or_default()
}

fn wanted(operations: &[Operation], licence: &Key) -> u64 {
    operations
        .iter()
        .filter(|operation| operation.licences_added().contains(licence))
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AdminRole, GotoUser, Licence};

    fn key(text: &str) -> Key {
        Key::new(text).unwrap()
    }

    fn account() -> GotoSnapshot {
        let licence = |k: &str, seats, used, enabled| Licence {
            key: key(k),
            description: String::new(),
            products: [Product::new("G2M")].into(),
            seats,
            user_count: used,
            enabled,
        };
        GotoSnapshot {
            account_key: key("1"),
            users: vec![GotoUser {
                key: key("10"),
                email: "old@contoso.com".to_owned(),
                first_name: String::new(),
                last_name: String::new(),
                licences: [key("A")].into(),
                role: AdminRole::None,
                group: None,
                role_sets: BTreeSet::new(),
                status: None,
            }],
            licences: vec![licence("A", 2, 1, true), licence("B", 5, 0, false)],
            groups: Vec::new(),
            role_sets: Vec::new(),
        }
    }

    fn create(email: &str, licences: &[&str]) -> Operation {
        Operation::CreateUser {
            email: email.to_owned(),
            first_name: String::new(),
            last_name: String::new(),
            licences: licences.iter().map(|k| key(k)).collect(),
            role: AdminRole::None,
            group: None,
        }
    }

    #[test]
    fn what_fits_is_applied_in_order_and_the_rest_reported_per_licence() {
        let operations = [
            create("first@contoso.com", &["A"]),
            create("second@contoso.com", &["A"]),
            create("third@contoso.com", &["A"]),
            Operation::MoveToGroup {
                user: key("10"),
                email: "old@contoso.com".to_owned(),
                from: None,
                to: key("31"),
            },
            create("webinar@contoso.com", &["B"]),
        ];
        let verdict = preflight(&account(), &operations);
        assert_eq!(verdict.fits, [0, 3]);
        assert_eq!(verdict.left_out, [1, 2, 4]);
        let a = &verdict.shortages[&key("A")];
        assert_eq!((a.free, a.wanted), (1, 3));
        assert_eq!(a.users, ["second@contoso.com", "third@contoso.com"]);
        let b = &verdict.shortages[&key("B")];
        assert_eq!(b.free, 0, "a disabled licence has no free seat");
        assert_eq!(b.users, ["webinar@contoso.com"]);
    }

    #[test]
    fn seats_released_by_the_same_operations_count_once() {
        let suspend = Operation::Suspend {
            user: key("10"),
            email: "old@contoso.com".to_owned(),
            before: [key("A")].into(),
        };
        let operations = [
            create("first@contoso.com", &["A"]),
            create("second@contoso.com", &["A"]),
            create("third@contoso.com", &["A"]),
            suspend.clone(),
            suspend,
        ];
        let verdict = preflight(&account(), &operations);
        assert_eq!(verdict.fits, [0, 1, 3, 4]);
        assert_eq!(verdict.shortages[&key("A")].users, ["third@contoso.com"]);
        assert_eq!(verdict.shortages[&key("A")].free, 2);
    }
}
