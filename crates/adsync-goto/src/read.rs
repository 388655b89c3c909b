//! The whole-account read: users, licences, user groups and role sets, complete or not at all.

use std::collections::{BTreeMap, BTreeSet};

use crate::GotoTarget;
use crate::api;
use crate::error::Error;
use crate::model::{GotoSnapshot, GotoUser, Key, Licence, Product, RoleSet, UserGroup};
use crate::wire;

impl GotoTarget {
    /// Reads the whole account. Any failed or unreadable page fails the read: a partial
    /// snapshot is never returned, so a missing page can never look like users to suspend.
    pub async fn read_snapshot(&self) -> Result<GotoSnapshot, Error> {
        let account = self.account_key().await?;
        let paths = [
            api::path::users(&account),
            api::path::licences(&account),
            api::path::groups(&account),
            api::path::role_sets(&account),
        ];
        let (users, licences, groups, role_sets) = futures::try_join!(
            self.client.all::<wire::User>(&paths[0]),
            self.client.all::<wire::Licence>(&paths[1]),
            self.client.all::<wire::Group>(&paths[2]),
            self.client.all::<wire::RoleSet>(&paths[3]),
        )?;
        let members = futures::future::try_join_all(role_sets.iter().map(|set| async {
            let users = self
                .client
                .all::<wire::RoleSetUser>(&api::path::role_set_users(&account, &set.id.0))
                .await?;
            Ok::<_, Error>((set.id.0.clone(), users))
        }))
        .await?;
        let mut snapshot = assemble(account, users, licences, groups, role_sets, members)?;
        snapshot.normalize();
        Ok(snapshot)
    }
}

fn assemble(
    account: Key,
    users: Vec<wire::User>,
    licences: Vec<wire::Licence>,
    groups: Vec<wire::Group>,
    role_sets: Vec<wire::RoleSet>,
    members: Vec<(Key, Vec<wire::RoleSetUser>)>,
) -> Result<GotoSnapshot, Error> {
    let holders: BTreeSet<(Key, Key)> = licences
        .iter()
        .flat_map(|licence| {
            licence
                .user_keys
                .iter()
                .map(|user| (user.0.clone(), licence.key.0.clone()))
        })
        .collect();
    let mut sets_of_user: BTreeMap<Key, BTreeSet<Key>> = BTreeMap::new();
    for (set, users) in members {
        for user in users {
            sets_of_user
                .entry(user.key.0)
                .or_default()
                .insert(set.clone());
        }
    }
    let mut seen = BTreeSet::new();
    let mut model_users = Vec::with_capacity(users.len());
    for user in &users {
        if !seen.insert(user.key.0.clone()) {
            return Err(Error::Incomplete {
                request: format!("GET {}", api::path::users(&account)),
                reason: format!("user {} appears twice", user.key.0),
            });
        }
        model_users.push(GotoUser {
            key: user.key.0.clone(),
            email: crate::model::normalize_email(&user.email),
            first_name: user.first_name.clone().unwrap_or_default(),
            last_name: user.last_name.clone().unwrap_or_default(),
            licences: api::licences_of_user(user, &holders),
            role: api::role_of_user(user),
            group: api::group_of_user(user),
            role_sets: sets_of_user.remove(&user.key.0).unwrap_or_default(),
            status: user.status.clone(),
        });
    }
    Ok(GotoSnapshot {
        account_key: account,
        users: model_users,
        licences: licences.into_iter().map(licence).collect(),
        groups: groups
            .into_iter()
            .map(|group| UserGroup {
                key: group.key.0,
                name: group.name,
                parent: group.parent_key.map(|key| key.0),
            })
            .collect(),
        role_sets: role_sets
            .into_iter()
            .map(|set| RoleSet {
                key: set.id.0,
                name: set.name,
            })
            .collect(),
    })
}

fn licence(licence: wire::Licence) -> Licence {
    Licence {
        key: licence.key.0,
        description: licence.description.unwrap_or_default(),
        products: licence.products.iter().map(|p| Product::new(p)).collect(),
        seats: licence.seats,
        user_count: licence.user_count,
        enabled: licence.enabled.unwrap_or(true),
    }
}
