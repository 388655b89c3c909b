//! The emulated organization: its tree, the rules Rescue enforces on it, and the text answers.

use std::collections::BTreeMap;

use adsync_core::model::{NodeId, NodeType, Plane, RescueNode, RescueSnapshot, Role, Status};
use adsync_rescue::api::{code, param, value};

/// Longest name the emulator accepts. The real limit is not documented.
const MAX_NAME: usize = 128;

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) id: u64,
    pub(crate) parent: Option<u64>,
    pub(crate) kind: NodeType,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) nick: String,
    pub(crate) ssoid: String,
    pub(crate) description: String,
    pub(crate) status: Status,
    pub(crate) mobile: bool,
    pub(crate) rpat: bool,
    pub(crate) account_holder: bool,
    pub(crate) password: Option<String>,
}

impl Node {
    fn is_user(&self) -> bool {
        self.kind.user_role().is_some()
    }

    fn plane(&self) -> Option<Plane> {
        self.kind.user_role().map(Role::plane)
    }
}

/// The tree and the mobile licence pool.
#[derive(Debug)]
pub(crate) struct Org {
    pub(crate) nodes: BTreeMap<u64, Node>,
    next_id: u64,
    /// Mobile licences in all (used or free); `None` is unlimited.
    pub(crate) mobile_licences: Option<usize>,
    pub(crate) account_id: u64,
    pub(crate) organization: String,
}

/// An answer: the whole text body.
pub(crate) type Answer = String;

fn code_only(code: &str) -> Answer {
    code.to_owned()
}

fn flag(on: bool) -> &'static str {
    if on { value::TRUE } else { value::FALSE }
}

fn parse_flag(raw: Option<&str>) -> Option<bool> {
    match raw?.trim().to_ascii_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

fn parse_status(raw: Option<&str>) -> Option<Status> {
    match raw?.trim().to_ascii_lowercase().as_str() {
        "enabled" => Some(Status::Enabled),
        "disabled" => Some(Status::Disabled),
        _ => None,
    }
}

fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(char::is_whitespace)
}

/// Form fields by name.
pub(crate) struct Form<'a>(pub(crate) &'a BTreeMap<String, String>);

impl Form<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn id(&self, name: &str) -> Option<u64> {
        self.get(name)?.trim().parse().ok()
    }
}

impl Org {
    pub(crate) fn new(seed: &RescueSnapshot) -> Org {
        let mut nodes = BTreeMap::new();
        for node in &seed.nodes {
            nodes.insert(
                node.id.0,
                Node {
                    id: node.id.0,
                    parent: node.parent.map(|p| p.0),
                    kind: node.node_type.clone(),
                    name: node.name.clone(),
                    email: node.email.clone().unwrap_or_default(),
                    nick: node.nick.clone().unwrap_or_default(),
                    ssoid: node.ssoid.clone().unwrap_or_default(),
                    description: node.description.clone().unwrap_or_default(),
                    status: node.status.unwrap_or(Status::Enabled),
                    mobile: node.mobile.unwrap_or(false),
                    rpat: node.rpat.unwrap_or(false),
                    account_holder: node.account_holder,
                    password: None,
                },
            );
        }
        let next_id = nodes.keys().max().copied().unwrap_or(0) + 1;
        Org {
            nodes,
            next_id,
            mobile_licences: None,
            account_id: 560_961,
            organization: "Contoso".to_owned(),
        }
    }

    /// The tree as a snapshot, with every user detail filled in.
    pub(crate) fn snapshot(&self) -> RescueSnapshot {
        let nodes = self
            .nodes
            .values()
            .map(|node| {
                let user = node.is_user();
                let text = |value: &str| (user || !value.is_empty()).then(|| value.to_owned());
                RescueNode {
                    id: NodeId(node.id),
                    parent: node.parent.map(NodeId),
                    node_type: node.kind.clone(),
                    name: node.name.clone(),
                    email: (!node.email.is_empty()).then(|| node.email.clone()),
                    nick: user.then(|| node.nick.clone()),
                    ssoid: user.then(|| node.ssoid.clone()),
                    description: text(&node.description),
                    status: user.then_some(node.status),
                    mobile: user.then_some(node.mobile),
                    rpat: user.then_some(node.rpat),
                    account_holder: node.account_holder,
                }
            })
            .collect();
        RescueSnapshot { nodes }
    }

    fn insert(&mut self, parent: u64, kind: NodeType) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.nodes.insert(
            id,
            Node {
                id,
                parent: Some(parent),
                kind,
                name: String::new(),
                email: String::new(),
                nick: String::new(),
                ssoid: String::new(),
                description: String::new(),
                status: Status::Disabled,
                mobile: false,
                rpat: false,
                account_holder: false,
                password: None,
            },
        );
        id
    }

    fn is_under(&self, node: u64, ancestor: u64) -> bool {
        let mut at = Some(node);
        let mut steps = 0;
        while let Some(id) = at {
            if id == ancestor {
                return true;
            }
            steps += 1;
            if steps > self.nodes.len() {
                return false;
            }
            at = self.nodes.get(&id).and_then(|n| n.parent);
        }
        false
    }

    pub(crate) fn mobile_in_use(&self) -> usize {
        self.nodes
            .values()
            .filter(|n| n.is_user() && n.mobile)
            .count()
    }

    // ---- answers ----------------------------------------------------------------------------

    fn record(node: &Node) -> String {
        let status = match (node.is_user(), node.status) {
            (true, Status::Disabled) => "Disabled",
            _ => "Offline",
        };
        format!(
            "NodeID:{}\nParentID:{}\nName:{}\nEmail:{}\nDescription:{}\nStatus:{}\nType:{}\n\n",
            node.id,
            node.parent.unwrap_or(0),
            node.name,
            node.email,
            node.description,
            status,
            node.kind.as_str()
        )
    }

    pub(crate) fn get_hierarchy(&self, form: &Form<'_>) -> Answer {
        let mut out = String::from("OK\n\n");
        if parse_flag(form.get(param::IS_NODE)) == Some(true) {
            let Some(node) = form.id(param::NODE).and_then(|id| self.nodes.get(&id)) else {
                return code_only(code::INVALIDPARAM_NODE);
            };
            out.push_str(&Org::record(node));
            return out;
        }
        for node in self.nodes.values() {
            out.push_str(&Org::record(node));
        }
        out
    }

    pub(crate) fn get_user(&self, form: &Form<'_>) -> Answer {
        let by_node = form.get(param::NODE).filter(|v| !v.trim().is_empty());
        let by_email = form.get(param::USER_EMAIL).filter(|v| !v.trim().is_empty());
        let node = match (by_node, by_email) {
            (Some(_), Some(_)) => return code_only(code::INVALID_EMAIL_AND_NODE_BOTH_SPECIFIED),
            (None, None) => return code_only(code::INVALIDPARAM_NODE),
            (Some(_), None) => match form.id(param::NODE).and_then(|id| self.nodes.get(&id)) {
                Some(node) if node.is_user() => node,
                _ => return code_only(code::INVALIDPARAM_NODE),
            },
            (None, Some(email)) => {
                match self
                    .nodes
                    .values()
                    .find(|n| n.is_user() && n.email.eq_ignore_ascii_case(email.trim()))
                {
                    Some(node) => node,
                    None => return code_only(code::INVALIDPARAM_EMAIL),
                }
            }
        };
        let status = match node.status {
            Status::Enabled => "Offline",
            Status::Disabled => "Disabled",
        };
        format!(
            "OK\n\nNODEID: {}\nNAME: {}\nNICK: {}\nEMAIL: {}\nSSOID: {}\nDESCRIPTION: {}\nTYPE: {}\n\
             HASMOBILEADDON: {}\nHASRPATADDON: {}\nISACCOUNTHOLDER: {}\nSTATUS: {}\n",
            node.id,
            node.name,
            node.nick,
            node.email,
            node.ssoid,
            node.description,
            node.kind.as_str(),
            flag(node.mobile),
            flag(node.rpat),
            flag(node.account_holder),
            status
        )
    }

    pub(crate) fn get_account(&self) -> Answer {
        let holder = self
            .nodes
            .values()
            .find(|n| n.account_holder && n.plane() == Some(Plane::Administrator));
        let email = holder.map(|n| n.email.clone()).unwrap_or_default();
        let tech = self
            .nodes
            .values()
            .find(|n| {
                n.kind == NodeType::Technician
                    && !email.is_empty()
                    && n.email.eq_ignore_ascii_case(&email)
                    && n.status == Status::Enabled
            })
            .map_or(0, |n| n.id);
        format!(
            "OK\n\nAccountID:{}\nOrganization:{}\nAdminID:{}\nTechID:{}\nEmail:{}\n",
            self.account_id,
            self.organization,
            holder.map_or(0, |n| n.id),
            tech,
            email
        )
    }

    pub(crate) fn create_user(&mut self, form: &Form<'_>) -> Answer {
        let Some(parent) = form.id(param::PARENT).and_then(|id| self.nodes.get(&id)) else {
            return code_only(code::INVALIDPARAM_PARENT);
        };
        // The role follows the parent; technicians only under a technician group.
        let kind = match parent.kind {
            NodeType::MasterAdministrators => NodeType::MasterAdministrator,
            NodeType::Administrators | NodeType::AdministratorGroup => NodeType::Administrator,
            NodeType::TechnicianGroup => NodeType::Technician,
            _ => return code_only(code::INVALIDPARAM_PARENT),
        };
        let parent = parent.id;
        let id = self.insert(parent, kind);
        format!("OK {id}")
    }

    pub(crate) fn create_group(&mut self, form: &Form<'_>) -> Answer {
        let Some(parent) = form.id(param::PARENT).and_then(|id| self.nodes.get(&id)) else {
            return code_only(code::INVALIDPARAM_PARENT);
        };
        let kind = match parent.kind {
            NodeType::Technicians | NodeType::TechnicianGroup => NodeType::TechnicianGroup,
            NodeType::Administrators | NodeType::AdministratorGroup => NodeType::AdministratorGroup,
            _ => return code_only(code::INVALIDPARAM_PARENT),
        };
        let parent = parent.id;
        let id = self.insert(parent, kind);
        format!("OK {id}")
    }

    pub(crate) fn set_user(&mut self, form: &Form<'_>) -> Answer {
        let Some(node) = form.id(param::NODE).and_then(|id| self.nodes.get(&id)) else {
            return code_only(code::INVALIDPARAM_NODE);
        };
        if !node.is_user() {
            return code_only(code::INVALIDPARAM_NODE);
        }
        let (id, plane, mobile_before) = (node.id, node.plane(), node.mobile);

        let name = form.get(param::NAME).unwrap_or("").trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return code_only(code::INVALIDPARAM_NAME);
        }
        let email = form.get(param::EMAIL).unwrap_or("").trim();
        if !valid_email(email) {
            return code_only(code::INVALIDPARAM_EMAIL);
        }
        let Some(status) = parse_status(form.get(param::STATUS)) else {
            return code_only(code::INVALIDPARAM_STATUS);
        };
        let Some(mobile) = parse_flag(form.get(param::MOBILE_ADDON)) else {
            return code_only(code::INVALIDPARAM_MOBILEADDON);
        };
        let Some(rpat) = parse_flag(form.get(param::RPAT_ADDON)) else {
            return code_only(code::INVALIDPARAM_RPATADDON);
        };
        let password = form
            .get(param::PASSWORD)
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        if let Some(password) = &password {
            if form.get(param::CONFIRM_PASSWORD) != Some(password.as_str()) {
                return code_only(code::INVALIDPARAM_PASSWORD_MISMATCH);
            }
            if password.chars().count() < 8 {
                return code_only(code::INVALIDPARAM_PASSWORD_TOO_SHORT);
            }
        }
        // One node per e-mail in each plane: a technician node and an administrator node may
        // share an e-mail, two nodes of one plane may not.
        let clash = self.nodes.values().any(|other| {
            other.id != id && other.plane() == plane && other.email.eq_ignore_ascii_case(email)
        });
        if clash {
            return code_only(code::INVALIDPARAM_EMAIL_ALREADY_IN_USE);
        }
        if mobile
            && !mobile_before
            && let Some(total) = self.mobile_licences
            && self.mobile_in_use() >= total
        {
            return code_only(code::MOBILE_LICENCE_REFUSED);
        }

        let nick = form.get(param::NICK).unwrap_or("").to_owned();
        let ssoid = form.get(param::SSOID).unwrap_or("").to_owned();
        let description = form.get(param::DESCRIPTION).unwrap_or("").to_owned();
        let Some(node) = self.nodes.get_mut(&id) else {
            return code_only(code::INVALIDPARAM_NODE);
        };
        node.name = name.to_owned();
        node.email = email.to_owned();
        node.nick = nick;
        node.ssoid = ssoid;
        node.description = description;
        node.status = status;
        node.mobile = mobile;
        node.rpat = rpat;
        if password.is_some() {
            node.password = password;
        }
        code_only(code::OK)
    }

    pub(crate) fn set_group(&mut self, form: &Form<'_>) -> Answer {
        let Some(node) = form
            .id(param::NODE)
            .and_then(|id| self.nodes.get_mut(&id))
            .filter(|n| {
                matches!(
                    n.kind,
                    NodeType::TechnicianGroup | NodeType::AdministratorGroup
                )
            })
        else {
            return code_only(code::INVALIDPARAM_NODE);
        };
        let name = form.get(param::NAME).unwrap_or("").trim();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return code_only(code::INVALIDPARAM_NAME);
        }
        if parse_status(form.get(param::STATUS)).is_none() {
            return code_only(code::INVALIDPARAM_STATUS);
        }
        node.name = name.to_owned();
        node.description = form.get(param::DESCRIPTION).unwrap_or("").to_owned();
        code_only(code::OK)
    }

    pub(crate) fn move_node(&mut self, form: &Form<'_>) -> Answer {
        let Some(node) = form.id(param::MOVE_NODE).and_then(|id| self.nodes.get(&id)) else {
            return code_only(code::INVALIDPARAM_NODE);
        };
        let Some(target) = form
            .id(param::MOVE_TARGET)
            .and_then(|id| self.nodes.get(&id))
        else {
            return code_only(code::INVALIDPARAM_TARGETNODE);
        };
        let (id, target_id) = (node.id, target.id);
        let new_kind = match (&node.kind, &target.kind) {
            (NodeType::Technician, NodeType::TechnicianGroup) => NodeType::Technician,
            (
                NodeType::Administrator | NodeType::MasterAdministrator,
                NodeType::Administrators | NodeType::AdministratorGroup,
            ) => NodeType::Administrator,
            (
                NodeType::Administrator | NodeType::MasterAdministrator,
                NodeType::MasterAdministrators,
            ) => NodeType::MasterAdministrator,
            (NodeType::TechnicianGroup, NodeType::Technicians | NodeType::TechnicianGroup)
            | (
                NodeType::AdministratorGroup,
                NodeType::Administrators | NodeType::AdministratorGroup,
            ) if !self.is_under(target_id, id) => node.kind.clone(),
            _ => return code_only(code::INVALID_MOVE),
        };
        if let Some(node) = self.nodes.get_mut(&id) {
            node.parent = Some(target_id);
            node.kind = new_kind;
        }
        code_only(code::OK)
    }

    pub(crate) fn delete_node(&mut self, form: &Form<'_>) -> Answer {
        let Some(node) = form
            .id(param::DELETE_NODE)
            .and_then(|id| self.nodes.get(&id))
        else {
            return code_only(code::INVALIDPARAM_NODE);
        };
        let id = node.id;
        let structural = node.kind == NodeType::Root || node.kind.container().is_some();
        // Whether Rescue deletes or orphans a group's children is not documented; the emulator
        // refuses, which is the cautious reading.
        let has_children = self.nodes.values().any(|n| n.parent == Some(id));
        if structural || node.account_holder || has_children {
            return code_only(code::INVALID_DELETE);
        }
        self.nodes.remove(&id);
        code_only(code::OK)
    }
}
