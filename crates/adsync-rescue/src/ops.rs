//! What each read and each action costs in API calls, and how an ambiguous write is checked
//! before it is sent again.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use adsync_core::adapter::{Applied, DetailRequest, ReadProgress, ReadStep};
use adsync_core::config::Attribute;
use adsync_core::model::{GroupPath, NodeId, NodeType, RescueNode, RescueSnapshot, Status};
use adsync_core::plan::{Action, ActionKind};
use adsync_core::secret::Secret;
use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt, stream};

use crate::RescueTarget;
use crate::api::{method, param, value};
use crate::client::{Client, Params, Verify};
use crate::error::Error;
use crate::orphan::Orphan;
use crate::text::{self, Field};
use crate::wire::{self, UserDetails};

/// Every field `setUser_v2` replaces.
#[derive(Clone, Debug, PartialEq, Eq)]
struct UserFields {
    name: String,
    nick: String,
    email: String,
    ssoid: String,
    description: String,
    status: Status,
    mobile: bool,
    rpat: bool,
}

impl From<&UserDetails> for UserFields {
    fn from(details: &UserDetails) -> UserFields {
        UserFields {
            name: details.name.clone(),
            nick: details.nick.clone(),
            email: details.email.clone(),
            ssoid: details.ssoid.clone(),
            description: details.description.clone(),
            status: details.status,
            mobile: details.mobile,
            rpat: details.rpat,
        }
    }
}

fn flag(on: bool) -> &'static str {
    if on { value::TRUE } else { value::FALSE }
}

fn status_value(status: Status) -> &'static str {
    match status {
        Status::Enabled => value::ENABLED,
        Status::Disabled => value::DISABLED,
    }
}

pub(crate) fn unit(_: &str) -> Result<(), wire::WireError> {
    Ok(())
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The data is a set of ids; a panic elsewhere cannot leave it half-updated.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The whole tree.
pub(crate) async fn read_tree(client: &Client) -> Result<Vec<RescueNode>, Error> {
    client
        .call(
            method::GET_HIERARCHY,
            &Params::new(),
            &wire::parse_hierarchy,
            None,
        )
        .await
}

/// One user's details; an answer for another node or a non-user is an error.
async fn get_user(client: &Client, node: NodeId) -> Result<UserDetails, Error> {
    let params = Params::new().with(param::NODE, node.to_string());
    let details = client
        .call(method::GET_USER, &params, &wire::parse_user, None)
        .await?;
    if details.node != node {
        return Err(Error::UnexpectedNode {
            method: method::GET_USER,
            asked: node,
            answer: format!("node {}", details.node),
        });
    }
    if details.node_type.user_role().is_none() {
        return Err(Error::UnexpectedNode {
            method: method::GET_USER,
            asked: node,
            // An unknown type is not quoted: the answer's text is not adsync's to repeat.
            answer: match details.node_type {
                NodeType::Other(_) => "a node of an unknown type".to_owned(),
                ref known => format!("a node of type {}", known.as_str()),
            },
        });
    }
    Ok(details)
}

/// `fields` as they may be sent to Rescue (`text.rs`): free text cleaned, identity refused.
fn safe_fields(fields: &UserFields, who: &str) -> Result<UserFields, Error> {
    let safe = |value: &str, field| text::safe(value, field, who).map(Cow::into_owned);
    Ok(UserFields {
        name: safe(&fields.name, Field::Name)?,
        nick: safe(&fields.nick, Field::Nick)?,
        email: safe(&fields.email, Field::Email)?,
        ssoid: safe(&fields.ssoid, Field::Ssoid)?,
        description: safe(&fields.description, Field::Description)?,
        ..fields.clone()
    })
}

/// `setUser_v2` with every field (and a password for new users); `who` names the user in
/// warnings and errors.
async fn set_user(
    client: &Client,
    node: NodeId,
    fields: &UserFields,
    password: Option<&Secret>,
    mobile_before: bool,
    who: &str,
) -> Result<(), Error> {
    let fields = &safe_fields(fields, who)?;
    let mut params = Params::new()
        .with(param::NODE, node.to_string())
        .with(param::NAME, fields.name.as_str())
        .with(param::NICK, fields.nick.as_str())
        .with(param::EMAIL, fields.email.as_str())
        .with(param::SSOID, fields.ssoid.as_str())
        .with(param::DESCRIPTION, fields.description.as_str())
        .with(param::STATUS, status_value(fields.status))
        .with(param::MOBILE_ADDON, flag(fields.mobile))
        .with(param::RPAT_ADDON, flag(fields.rpat));
    if let Some(password) = password {
        params = params
            .with(param::PASSWORD, password.expose())
            .with(param::CONFIRM_PASSWORD, password.expose());
    }
    let verify = UserMatches {
        node,
        expected: fields.clone(),
    };
    match client
        .call(method::SET_USER, &params, &unit, Some(&verify))
        .await
    {
        Err(Error::Code { code, .. })
            if code.as_str() == crate::api::code::MOBILE_LICENCE_REFUSED
                && fields.mobile
                && !mobile_before =>
        {
            Err(Error::NoMobileLicence { node, code })
        }
        other => other,
    }
}

/// The node holds exactly the fields written.
struct UserMatches {
    node: NodeId,
    expected: UserFields,
}

#[async_trait]
impl Verify<()> for UserMatches {
    async fn applied(&self, client: &Client) -> Result<Option<()>, Error> {
        let details = get_user(client, self.node).await?;
        Ok((UserFields::from(&details) == self.expected).then_some(()))
    }
}

/// A new node: its id, and whether it was adopted by a check rather than answered.
type Created = (NodeId, bool);

/// Whether `node` is an empty group (`Some(true)`) or an empty user (`Some(false)`): a node
/// `createGroup`/`createUser` made and no `setGroup`/`setUser` filled. Rescue requires a name
/// (and a user an e-mail), so nothing else looks like this.
pub(crate) fn empty_kind(node: &RescueNode) -> Option<bool> {
    let empty =
        node.name.trim().is_empty() && node.email.as_deref().unwrap_or("").trim().is_empty();
    if !empty {
        return None;
    }
    match node.node_type {
        NodeType::TechnicianGroup | NodeType::AdministratorGroup => Some(true),
        ref other if other.user_role().is_some() => Some(false),
        _ => None,
    }
}

/// An empty user (or group) node under `parent` that no other create of this run has taken.
struct CreatedChild<'a> {
    parent: NodeId,
    group: bool,
    claimed: &'a Mutex<HashSet<NodeId>>,
}

#[async_trait]
impl Verify<Created> for CreatedChild<'_> {
    async fn applied(&self, client: &Client) -> Result<Option<Created>, Error> {
        let tree = read_tree(client).await?;
        let mut claimed = lock(self.claimed);
        let found = tree
            .iter()
            .filter(|node| node.parent == Some(self.parent))
            .filter(|node| empty_kind(node) == Some(self.group))
            .map(|node| node.id)
            .filter(|id| !claimed.contains(id))
            .min();
        if let Some(id) = found {
            claimed.insert(id);
        }
        Ok(found.map(|id| (id, true)))
    }
}

/// The node sits under `parent`.
struct ParentIs {
    node: NodeId,
    parent: NodeId,
}

#[async_trait]
impl Verify<()> for ParentIs {
    async fn applied(&self, client: &Client) -> Result<Option<()>, Error> {
        let tree = read_tree(client).await?;
        Ok(tree
            .iter()
            .any(|node| node.id == self.node && node.parent == Some(self.parent))
            .then_some(()))
    }
}

/// The node is gone.
pub(crate) struct Deleted {
    pub(crate) node: NodeId,
}

#[async_trait]
impl Verify<()> for Deleted {
    async fn applied(&self, client: &Client) -> Result<Option<()>, Error> {
        let tree = read_tree(client).await?;
        Ok((!tree.iter().any(|node| node.id == self.node)).then_some(()))
    }
}

/// The group carries `name`.
struct GroupNamed {
    node: NodeId,
    name: String,
}

#[async_trait]
impl Verify<()> for GroupNamed {
    async fn applied(&self, client: &Client) -> Result<Option<()>, Error> {
        let tree = read_tree(client).await?;
        Ok(tree
            .iter()
            .any(|node| node.id == self.node && node.name == self.name)
            .then_some(()))
    }
}

fn incomplete(kind: ActionKind, what: &'static str) -> Error {
    Error::IncompleteAction {
        action: kind.as_str(),
        what,
    }
}

/// The user an action is about, for messages.
fn who(action: &Action, node: NodeId) -> String {
    action
        .user()
        .map_or_else(|| format!("node {node}"), |user| user.email.to_string())
}

fn node_of(action: &Action) -> Result<NodeId, Error> {
    action
        .node_id()
        .ok_or_else(|| incomplete(action.kind(), "node id"))
}

fn destination(action: &Action, parent: Option<NodeId>) -> Result<NodeId, Error> {
    parent
        .or(action.to_node())
        .ok_or_else(|| incomplete(action.kind(), "destination node"))
}

impl RescueTarget {
    /// The tree, then the details of the users in scope, `concurrency` at a time, telling
    /// `progress` after the tree and after every user.
    pub(crate) async fn read(
        &self,
        details: &DetailRequest,
        progress: &dyn ReadProgress,
    ) -> Result<RescueSnapshot, Error> {
        let mut snapshot = RescueSnapshot {
            nodes: read_tree(&self.client).await?,
        };
        progress.report(ReadStep::Hierarchy {
            nodes: snapshot.nodes.len() as u64,
        });
        let mut orphans = HashMap::new();
        for node in &snapshot.nodes {
            if let (Some(group), Some(parent)) = (empty_kind(node), node.parent) {
                *orphans.entry((parent, group)).or_insert(0) += 1;
            }
        }
        *lock(&self.orphans) = orphans;
        *lock(&self.known) = snapshot.nodes.iter().map(|node| node.id).collect();
        if !details.any() {
            return Ok(snapshot);
        }
        let wanted = details.scope.users_in(&snapshot);
        let client = &self.client;
        let total = wanted.len() as u64;
        let done = AtomicU64::new(0);
        progress.report(ReadStep::Details { done: 0, total });
        let read: Vec<UserDetails> = stream::iter(wanted)
            .map(|node| {
                let done = &done;
                async move {
                    let read = get_user(client, node).await;
                    let done = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress.report(ReadStep::Details { done, total });
                    read
                }
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        let index: HashMap<NodeId, usize> = snapshot
            .nodes
            .iter()
            .enumerate()
            .map(|(at, node)| (node.id, at))
            .collect();
        for user in read {
            // Every id came from `snapshot`, so the lookup finds it.
            let Some(node) = index
                .get(&user.node)
                .and_then(|&at| snapshot.nodes.get_mut(at))
            else {
                continue;
            };
            node.nick = Some(user.nick);
            node.ssoid = Some(user.ssoid);
            node.mobile = Some(user.mobile);
            node.rpat = Some(user.rpat);
            node.account_holder = user.account_holder;
        }
        Ok(snapshot)
    }

    pub(crate) async fn account(&self) -> Result<wire::Account, Error> {
        self.client
            .call(
                method::GET_ACCOUNT,
                &Params::new(),
                &wire::parse_account,
                None,
            )
            .await
    }

    pub(crate) async fn apply_action(
        &self,
        action: &Action,
        parent: Option<NodeId>,
    ) -> Result<Applied, Error> {
        match action.kind() {
            ActionKind::CreateGroup => Ok(Applied {
                created: Some(self.create_group(action, parent).await?),
            }),
            ActionKind::CreateUser => Ok(Applied {
                created: Some(self.create_user(action, parent).await?),
            }),
            ActionKind::MoveUser => {
                let node = node_of(action)?;
                let target = destination(action, parent)?;
                let params = Params::new()
                    .with(param::MOVE_TARGET, target.to_string())
                    .with(param::MOVE_NODE, node.to_string());
                let verify = ParentIs {
                    node,
                    parent: target,
                };
                self.client
                    .call(method::MOVE_NODE, &params, &unit, Some(&verify))
                    .await?;
                Ok(Applied::default())
            }
            ActionKind::UpdateUser => {
                self.modify(action, |fields| {
                    for (attribute, change) in action.changes().into_iter().flatten() {
                        let slot = match attribute {
                            Attribute::Name => &mut fields.name,
                            Attribute::Nick => &mut fields.nick,
                            Attribute::Email => &mut fields.email,
                            Attribute::Ssoid => &mut fields.ssoid,
                            Attribute::Description => &mut fields.description,
                        };
                        slot.clone_from(&change.new);
                    }
                })
                .await
            }
            ActionKind::EnableUser => {
                self.modify(action, |fields| fields.status = Status::Enabled)
                    .await
            }
            ActionKind::DisableUser => {
                self.modify(action, |fields| {
                    fields.status = Status::Disabled;
                    if action.mobile() == Some(false) {
                        fields.mobile = false;
                    }
                })
                .await
            }
            ActionKind::SetMobileLicense => {
                let mobile = action
                    .mobile()
                    .ok_or_else(|| incomplete(action.kind(), "mobile add-on value"))?;
                self.modify(action, |fields| fields.mobile = mobile).await
            }
        }
    }

    /// Read-modify-write: `setUser_v2` replaces every field, so the current values are read
    /// first and written back unchanged except for `change`. Nothing is written when nothing
    /// changes.
    async fn modify(
        &self,
        action: &Action,
        change: impl FnOnce(&mut UserFields),
    ) -> Result<Applied, Error> {
        let node = node_of(action)?;
        let before = UserFields::from(&get_user(&self.client, node).await?);
        let mut after = before.clone();
        change(&mut after);
        if after == before {
            return Ok(Applied::default());
        }
        let who = who(action, node);
        // A change that cleaning undoes (a line break where Rescue holds a space) writes nothing.
        let after = safe_fields(&after, &who)?;
        if after != before {
            set_user(&self.client, node, &after, None, before.mobile, &who).await?;
        }
        Ok(Applied::default())
    }

    async fn create_user(&self, action: &Action, parent: Option<NodeId>) -> Result<NodeId, Error> {
        let user = action
            .new_user()
            .ok_or_else(|| incomplete(action.kind(), "user fields"))?;
        let parent = destination(action, parent)?;
        let password = self.default_password.as_ref();
        if password.is_none() && user.ssoid.trim().is_empty() {
            return Err(Error::MissingDefaultPassword);
        }
        let who = text::printable(&user.email);
        // Checked before the node is made: an e-mail that cannot be sent makes no node.
        let fields = safe_fields(
            &UserFields {
                name: user.name.clone(),
                nick: user.nick.clone(),
                email: user.email.clone(),
                ssoid: user.ssoid.clone(),
                description: user.description.clone(),
                status: Status::Enabled,
                mobile: user.mobile,
                rpat: false,
            },
            &who,
        )?;
        let node = self.create_node(method::CREATE_USER, parent, false).await?;
        match set_user(&self.client, node, &fields, password, false, &who).await {
            Ok(()) => Ok(node),
            Err(error) => Err(self.roll_back(node, parent, false, error).await),
        }
    }

    async fn create_group(&self, action: &Action, parent: Option<NodeId>) -> Result<NodeId, Error> {
        let name = action
            .to()
            .map(|path| path.name().to_owned())
            .filter(|name| !name.is_empty())
            .ok_or_else(|| incomplete(action.kind(), "group name"))?;
        let parent = destination(action, parent)?;
        let shown = action.to().map(GroupPath::as_str).unwrap_or_default();
        let name = text::safe(&name, Field::GroupName, &format!("group {shown}"))?.into_owned();
        let node = self.create_node(method::CREATE_GROUP, parent, true).await?;
        let params = Params::new()
            .with(param::NODE, node.to_string())
            .with(param::NAME, name.as_str())
            .with(param::STATUS, value::ENABLED)
            .with(param::DESCRIPTION, "");
        let verify = GroupNamed { node, name };
        match self
            .client
            .call(method::SET_GROUP, &params, &unit, Some(&verify))
            .await
        {
            Ok(()) => Ok(node),
            Err(error) => Err(self.roll_back(node, parent, true, error).await),
        }
    }

    /// `createUser`/`createGroup` under `parent`. An ambiguous answer is checked by looking for
    /// an empty node under `parent` that no other create of this run has taken, so a retry never
    /// makes a second node.
    async fn create_node(
        &self,
        method: &'static str,
        parent: NodeId,
        group: bool,
    ) -> Result<NodeId, Error> {
        let verify = CreatedChild {
            parent,
            group,
            claimed: &self.claimed,
        };
        // A run killed between the create and the write that fills the node left it empty;
        // fill that one rather than leave it behind for good. Only when the last read saw one
        // here: the check reads the tree again.
        let orphaned = {
            let mut orphans = lock(&self.orphans);
            match orphans.get_mut(&(parent, group)) {
                Some(left) if *left > 0 => {
                    *left -= 1;
                    true
                }
                _ => false,
            }
        };
        if orphaned && let Some((id, _)) = verify.applied(&self.client).await? {
            tracing::info!(%parent, node = %id, "adopting an empty node an interrupted create left");
            return Ok(id);
        }
        let params = Params::new().with(param::PARENT, parent.to_string());
        let parse = |data: &str| wire::parse_created(data).map(|id| (id, false));
        for _ in 0..3 {
            let unchecked = Orphan {
                parent,
                node: None,
                group,
            };
            let (id, adopted) = self
                .client
                .call(method, &params, &parse, Some(&verify))
                .await
                .inspect_err(|error| {
                    if matches!(error, Error::Unverified { .. }) {
                        self.record(unchecked);
                    }
                })?;
            if !adopted && lock(&self.known).contains(&id) {
                // Never take an existing node for the new one; the node the call made, if it
                // made one, is found by the next run's clean-up.
                self.record(unchecked);
                return Err(Error::UnexpectedNode {
                    method,
                    asked: parent,
                    answer: format!("node {id}, which existed before the call"),
                });
            }
            if adopted || lock(&self.claimed).insert(id) {
                return Ok(id);
            }
            // A concurrent create whose answer was ambiguous took this node for its own; the
            // node it made, if it made one, is ours.
            if let Some((id, _)) = verify.applied(&self.client).await? {
                return Ok(id);
            }
        }
        Err(Error::UnexpectedNode {
            method,
            asked: parent,
            answer: "nodes other creates of this run had already taken".to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_statuses_use_the_documented_spellings() {
        assert_eq!(flag(true), "True");
        assert_eq!(flag(false), "False");
        assert_eq!(status_value(Status::Enabled), "Enabled");
        assert_eq!(status_value(Status::Disabled), "Disabled");
    }
}
