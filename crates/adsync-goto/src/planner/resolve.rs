//! Names in the rules to keys in the account: product codes to licences, user-group names to
//! user groups, admin-role rules to [`AdminRole`]s.

use std::collections::BTreeSet;

use adsync_core::goto::{GotoRoleRule, RoleWord};

use crate::model::{AdminRole, GotoSnapshot, Key, Licence, Product};

/// The licences that grant `products`, and the products no enabled licence grants.
///
/// A licence the user already holds is kept for every product it grants; otherwise the enabled
/// licence granting the product with the fewest products the user does not want is chosen (ties
/// by key), so a user wanting GoTo Meeting does not take a seat of a bundle it does not need.
pub(super) fn licences_for(
    products: &BTreeSet<Product>,
    held: &BTreeSet<Key>,
    account: &GotoSnapshot,
) -> (BTreeSet<Key>, Vec<Product>) {
    let mut chosen: BTreeSet<Key> = BTreeSet::new();
    let mut missing = Vec::new();
    let grants = |licence: &Licence, product: &Product| licence.products.contains(product);
    for product in products {
        let covered = account
            .licences
            .iter()
            .any(|l| chosen.contains(&l.key) && grants(l, product));
        if covered {
            continue;
        }
        let kept = account
            .licences
            .iter()
            .find(|l| held.contains(&l.key) && grants(l, product));
        let best = kept.or_else(|| {
            account
                .licences
                .iter()
                .filter(|l| l.enabled && grants(l, product))
                .min_by_key(|l| (l.products.difference(products).count(), l.key.clone()))
        });
        match best {
            Some(licence) => {
                chosen.insert(licence.key.clone());
            }
            None => missing.push(product.clone()),
        }
    }
    (chosen, missing)
}

/// The user group named `name` (compared without regard to case), if the account has one.
pub(super) fn group_for(name: &str, account: &GotoSnapshot) -> Option<Key> {
    let wanted = name.trim().to_lowercase();
    account
        .groups
        .iter()
        .find(|group| group.name.trim().to_lowercase() == wanted)
        .map(|group| group.key.clone())
}

/// The admin role a rule sets, or the user-group names it manages that the account lacks.
pub(super) fn role_for(
    rule: &GotoRoleRule,
    account: &GotoSnapshot,
) -> Result<AdminRole, Vec<String>> {
    match rule {
        GotoRoleRule::Word(RoleWord::None) => Ok(AdminRole::None),
        GotoRoleRule::Word(RoleWord::Full) => Ok(AdminRole::Full),
        GotoRoleRule::ManagerOf { manager_of } => {
            let mut groups = BTreeSet::new();
            let mut missing = Vec::new();
            for name in manager_of {
                match group_for(name, account) {
                    Some(key) => {
                        groups.insert(key);
                    }
                    None => missing.push(name.clone()),
                }
            }
            if missing.is_empty() {
                Ok(AdminRole::ManagerOf { groups })
            } else {
                Err(missing)
            }
        }
    }
}
