//! The text formats of the Rescue API: the return code, hierarchy records, user details, account
//! details, authcodes and created node ids.
//!
//! The parsers are tolerant of layout (the documentation shows answers collapsed on one or two
//! lines, clients see one `Key:Value` per line; LF or CRLF; keys in any case; unknown keys) and
//! strict about content: a record that lacks a field adsync relies on is an error, never a guess.
//! Nothing here panics on any input.

use std::collections::{HashMap, HashSet};
use std::fmt;

use adsync_core::model::{NodeId, NodeType, RescueNode, Status};

use crate::api::{code, key};

/// A Rescue return code: the first token of every answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Code {
    /// `OK`.
    Ok,
    /// `ERROR`: unspecified, "such as a timeout".
    Error,
    /// `NOTLOGGEDIN`.
    NotLoggedIn,
    /// `INVALID_SECRETAUTHCODE`.
    InvalidSecretAuthCode,
    /// `USER_DELETED_OR_DISABLED`.
    UserDeletedOrDisabled,
    /// `INVALID` (e-mail and password refused).
    Invalid,
    /// `LIMITREACHED`.
    LimitReached,
    /// `POLLRATEEXCEEDED`.
    PollRateExceeded,
    /// `INVALIDPARAM_NODE`.
    InvalidParamNode,
    /// `INVALIDPARAM_PARENT`.
    InvalidParamParent,
    /// `INVALIDPARAM_TARGETNODE`.
    InvalidParamTargetNode,
    /// `INVALID_MOVE`.
    InvalidMove,
    /// `INVALID_DELETE`.
    InvalidDelete,
    /// `INVALIDPARAM_NAME`.
    InvalidParamName,
    /// `INVALIDPARAM_STATUS`.
    InvalidParamStatus,
    /// `INVALIDPARAM_MOBILEADDON`.
    InvalidParamMobileAddon,
    /// `INVALIDPARAM_RPATADDON`.
    InvalidParamRpatAddon,
    /// `INVALIDPARAM_EMAIL`.
    InvalidParamEmail,
    /// `INVALIDPARAM_EMAIL_ALREADY_IN_USE`.
    InvalidParamEmailAlreadyInUse,
    /// `INVALIDPARAM_MISSING_CURRENT_PASSWORD`.
    InvalidParamMissingCurrentPassword,
    /// `INVALIDPARAM_COMPANY`.
    InvalidParamCompany,
    /// Both `node` and `email` given to `getUser_v3`.
    InvalidEmailAndNodeBothSpecified,
    /// A password-policy code (`INVALIDPARAM_PASSWORD...`), kept verbatim.
    InvalidParamPassword(String),
    /// Any other code, kept verbatim.
    Other(String),
}

/// Codes longer than this are cut when kept verbatim (an HTML error page is not a code).
const MAX_CODE_LEN: usize = 80;

/// What an unknown code reads as when its text is not shown: the first token of an answer that
/// does not look like one of Rescue's codes may be a secret sent back (a bare authcode, a
/// password, a proxy reflecting the request form), so it is never kept.
pub const UNSHOWN_CODE: &str = "(an answer that is not a Rescue code, not shown)";

/// Whether `raw` looks like one of Rescue's codes: capitals, digits and underscores, starting
/// with a capital. Authcodes (lower case), passwords and forms (`=`, `&`, `%`) do not.
fn code_shaped(raw: &str) -> bool {
    raw.starts_with(|c: char| c.is_ascii_uppercase())
        && raw
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `raw`, cut to [`MAX_CODE_LEN`], when it looks like a code; [`UNSHOWN_CODE`] otherwise.
fn shown(raw: &str) -> String {
    if code_shaped(raw) {
        truncate(raw)
    } else {
        UNSHOWN_CODE.to_owned()
    }
}

impl Code {
    /// Parses a code in any case. An unknown code is kept verbatim only when it looks like a
    /// code (see [`UNSHOWN_CODE`]).
    pub fn parse(raw: &str) -> Code {
        let upper = raw.trim().to_ascii_uppercase();
        match upper.as_str() {
            code::OK => Code::Ok,
            code::ERROR => Code::Error,
            code::NOT_LOGGED_IN => Code::NotLoggedIn,
            code::INVALID_SECRET_AUTHCODE => Code::InvalidSecretAuthCode,
            code::USER_DELETED_OR_DISABLED => Code::UserDeletedOrDisabled,
            code::INVALID => Code::Invalid,
            code::LIMIT_REACHED => Code::LimitReached,
            code::POLL_RATE_EXCEEDED => Code::PollRateExceeded,
            code::INVALIDPARAM_NODE => Code::InvalidParamNode,
            code::INVALIDPARAM_PARENT => Code::InvalidParamParent,
            code::INVALIDPARAM_TARGETNODE => Code::InvalidParamTargetNode,
            code::INVALID_MOVE => Code::InvalidMove,
            code::INVALID_DELETE => Code::InvalidDelete,
            code::INVALIDPARAM_NAME => Code::InvalidParamName,
            code::INVALIDPARAM_STATUS => Code::InvalidParamStatus,
            code::INVALIDPARAM_MOBILEADDON => Code::InvalidParamMobileAddon,
            code::INVALIDPARAM_RPATADDON => Code::InvalidParamRpatAddon,
            code::INVALIDPARAM_EMAIL => Code::InvalidParamEmail,
            code::INVALIDPARAM_EMAIL_ALREADY_IN_USE => Code::InvalidParamEmailAlreadyInUse,
            code::INVALIDPARAM_MISSING_CURRENT_PASSWORD => Code::InvalidParamMissingCurrentPassword,
            code::INVALIDPARAM_COMPANY => Code::InvalidParamCompany,
            code::INVALID_EMAIL_AND_NODE_BOTH_SPECIFIED => Code::InvalidEmailAndNodeBothSpecified,
            other if other.starts_with(code::INVALIDPARAM_PASSWORD_PREFIX) => {
                Code::InvalidParamPassword(if code_shaped(raw.trim()) {
                    truncate(raw.trim())
                } else {
                    code::INVALIDPARAM_PASSWORD_PREFIX.to_owned()
                })
            }
            _ => Code::Other(shown(raw.trim())),
        }
    }

    /// This code, or [`UNSHOWN_CODE`] when its text mentions one of `secrets` (or is a long
    /// enough piece of one): the last screen for a code-shaped secret sent back.
    pub fn screened<'s>(self, secrets: impl IntoIterator<Item = &'s str>) -> Code {
        let raw = match &self {
            Code::InvalidParamPassword(raw) | Code::Other(raw) => raw.as_str(),
            _ => return self,
        };
        let upper = raw.to_ascii_uppercase();
        let mentions = |secret: &str| {
            let secret = secret.to_ascii_uppercase();
            (secret.len() >= 4 && upper.contains(&secret))
                || (upper.len() >= 6 && secret.contains(&upper))
        };
        if !secrets.into_iter().any(mentions) {
            return self;
        }
        match self {
            Code::InvalidParamPassword(_) => {
                Code::InvalidParamPassword(code::INVALIDPARAM_PASSWORD_PREFIX.to_owned())
            }
            _ => Code::Other(UNSHOWN_CODE.to_owned()),
        }
    }

    /// The code's spelling (verbatim for kept codes).
    pub fn as_str(&self) -> &str {
        match self {
            Code::Ok => code::OK,
            Code::Error => code::ERROR,
            Code::NotLoggedIn => code::NOT_LOGGED_IN,
            Code::InvalidSecretAuthCode => code::INVALID_SECRET_AUTHCODE,
            Code::UserDeletedOrDisabled => code::USER_DELETED_OR_DISABLED,
            Code::Invalid => code::INVALID,
            Code::LimitReached => code::LIMIT_REACHED,
            Code::PollRateExceeded => code::POLL_RATE_EXCEEDED,
            Code::InvalidParamNode => code::INVALIDPARAM_NODE,
            Code::InvalidParamParent => code::INVALIDPARAM_PARENT,
            Code::InvalidParamTargetNode => code::INVALIDPARAM_TARGETNODE,
            Code::InvalidMove => code::INVALID_MOVE,
            Code::InvalidDelete => code::INVALID_DELETE,
            Code::InvalidParamName => code::INVALIDPARAM_NAME,
            Code::InvalidParamStatus => code::INVALIDPARAM_STATUS,
            Code::InvalidParamMobileAddon => code::INVALIDPARAM_MOBILEADDON,
            Code::InvalidParamRpatAddon => code::INVALIDPARAM_RPATADDON,
            Code::InvalidParamEmail => code::INVALIDPARAM_EMAIL,
            Code::InvalidParamEmailAlreadyInUse => code::INVALIDPARAM_EMAIL_ALREADY_IN_USE,
            Code::InvalidParamMissingCurrentPassword => code::INVALIDPARAM_MISSING_CURRENT_PASSWORD,
            Code::InvalidParamCompany => code::INVALIDPARAM_COMPANY,
            Code::InvalidEmailAndNodeBothSpecified => code::INVALID_EMAIL_AND_NODE_BOTH_SPECIFIED,
            Code::InvalidParamPassword(raw) | Code::Other(raw) => raw,
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn truncate(raw: &str) -> String {
    raw.chars().take(MAX_CODE_LEN).collect()
}

/// Why a text answer could not be read. The message never quotes the answer: some answers carry
/// secrets (an authcode).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

fn wire_error(message: impl Into<String>) -> WireError {
    WireError(message.into())
}

/// Splits an answer into its return code and the data after it.
pub fn split_status(body: &str) -> Result<(Code, &str), WireError> {
    let body = body.trim_start_matches('\u{feff}').trim_start();
    if body.is_empty() {
        return Err(wire_error("the answer is empty"));
    }
    let end = body.find(char::is_whitespace).unwrap_or(body.len());
    let (token, data) = body.split_at(end);
    Ok((Code::parse(token), data))
}

/// The fields of one record, keyed by the canonical spelling from `api::key`.
type Record = HashMap<&'static str, String>;

/// Splits `data` into records of the `keys` fields; a record starts at each `start` key.
///
/// Two layouts are read. The wire layout has one `Key:Value` per line and a blank line between
/// records; values are split from keys at the first colon, so they may contain colons. The
/// documentation's collapsed layout puts several `Key:Value` pairs on a line; it is recognised
/// when the first line of data holds two or more known keys, and then only known keys (preceded
/// by whitespace) split fields.
///
/// A record that breaks the format is an error, never read around: one that does not start with
/// `start`, one holding a known key twice, and (in the wire layout) a line that is not a
/// `Key:Value` field. That is what a value with a line break in it looks like, and reading
/// around it would take the rest of the value for fields of its own.
fn records(data: &str, keys: &[&'static str], start: &str) -> Result<Vec<Record>, WireError> {
    let text = data.replace("\r\n", "\n").replace('\r', "\n");
    let first_line = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("");
    if markers(first_line, keys).len() >= 2 {
        collapsed_records(&text, keys, start)
    } else {
        line_records(&text, keys, start)
    }
}

fn canonical(raw_key: &str, keys: &[&'static str]) -> Option<&'static str> {
    let raw_key = raw_key.trim();
    keys.iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(raw_key))
}

/// Records being built: those complete so far and the current one.
#[derive(Default)]
struct Builder {
    done: Vec<Record>,
    current: Record,
}

impl Builder {
    /// Which record is being built, for messages: its number, and its id when read (ids are
    /// no secret, and name the node an administrator must correct).
    fn which(&self, start: &str) -> String {
        let number = self.done.len() + 1;
        match self.current.get(start) {
            Some(id) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                format!("record {number} (`{start}` {id})")
            }
            _ => format!("record {number}"),
        }
    }

    /// Adds the field `k`; a `start` key begins a new record.
    fn add(&mut self, k: &'static str, value: &str, start: &str) -> Result<(), WireError> {
        let record = self.which(start);
        if k.eq_ignore_ascii_case(start) {
            self.end();
        } else if self.current.is_empty() {
            return Err(wire_error(format!(
                "{record} does not start with `{start}`; the answer breaks the format"
            )));
        } else if self.current.contains_key(k) {
            return Err(wire_error(format!(
                "{record} holds `{k}` twice; the answer breaks the format (a value with \
                 a line break?)"
            )));
        }
        self.current.insert(k, value.trim().to_owned());
        Ok(())
    }

    fn end(&mut self) {
        if !self.current.is_empty() {
            self.done.push(std::mem::take(&mut self.current));
        }
    }

    fn finish(mut self) -> Vec<Record> {
        self.end();
        self.done
    }
}

fn line_records(text: &str, keys: &[&'static str], start: &str) -> Result<Vec<Record>, WireError> {
    let mut records = Builder::default();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            records.end();
            continue;
        }
        let Some((raw_key, value)) = line.split_once(':') else {
            return Err(wire_error(format!(
                "line {} of the answer, in {}, is not a `Key:Value` field; the answer breaks the \
                 format (a value with a line break?)",
                index + 1,
                records.which(start)
            )));
        };
        // Unknown keys are ignored: the API may add fields.
        if let Some(k) = canonical(raw_key, keys) {
            records.add(k, value, start)?;
        }
    }
    Ok(records.finish())
}

/// Byte offsets of `Key:` markers of known keys in `text`: (start of key, end of colon, key).
fn markers(text: &str, keys: &[&'static str]) -> Vec<(usize, usize, &'static str)> {
    let mut found = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut previous_is_space = true;
    for (at, ch) in text.char_indices() {
        if previous_is_space {
            for k in keys {
                let rest = &lower[at..];
                if rest.len() > k.len()
                    && rest.as_bytes()[..k.len()].eq_ignore_ascii_case(k.as_bytes())
                    && rest.as_bytes()[k.len()] == b':'
                {
                    found.push((at, at + k.len() + 1, *k));
                    break;
                }
            }
        }
        previous_is_space = ch.is_whitespace();
    }
    found
}

fn collapsed_records(
    text: &str,
    keys: &[&'static str],
    start: &str,
) -> Result<Vec<Record>, WireError> {
    let found = markers(text, keys);
    let mut records = Builder::default();
    for (index, &(_, value_start, k)) in found.iter().enumerate() {
        let value_end = found.get(index + 1).map_or(text.len(), |next| next.0);
        let value = text.get(value_start..value_end).unwrap_or("");
        records.add(k, value, start)?;
    }
    Ok(records.finish())
}

fn field<'r>(record: &'r Record, k: &str, what: &str) -> Result<&'r str, WireError> {
    record
        .get(k)
        .map(String::as_str)
        .ok_or_else(|| wire_error(format!("{what} lacks `{k}`; the answer looks truncated")))
}

fn number(raw: &str, k: &str, what: &str) -> Result<u64, WireError> {
    raw.trim()
        .parse()
        .map_err(|_| wire_error(format!("{what} has a `{k}` that is not a node id")))
}

fn flag(raw: &str, k: &str, what: &str) -> Result<bool, WireError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(wire_error(format!(
            "{what} has a `{k}` that is neither true nor false"
        ))),
    }
}

fn non_empty(value: &str) -> Option<String> {
    (!value.is_empty()).then(|| value.to_owned())
}

/// Parses `getHierarchy_v2` records into nodes, without checking how they fit together (the
/// answer to an `isnode=true` read).
pub fn parse_hierarchy_records(data: &str) -> Result<Vec<RescueNode>, WireError> {
    let [
        node_id,
        parent_id,
        name,
        email,
        description,
        status,
        node_type,
    ] = key::HIERARCHY;
    let mut nodes = Vec::new();
    for (index, record) in records(data, &key::HIERARCHY, node_id)?.iter().enumerate() {
        let what = format!("hierarchy record {}", index + 1);
        let id = number(field(record, node_id, &what)?, node_id, &what)?;
        let what = format!("hierarchy node {id}");
        let kind = NodeType::parse(field(record, node_type, &what)?);
        let parent_raw = field(record, parent_id, &what)?;
        let parent = parent_raw.trim().parse::<u64>().ok().filter(|&p| p != 0);
        if parent.is_none() && kind != NodeType::Root {
            return Err(wire_error(format!(
                "{what} has a `{parent_id}` that is not a node id"
            )));
        }
        let is_user = kind.user_role().is_some();
        let node_name = field(record, name, &what)?.to_owned();
        let (node_email, node_status, node_description) = if is_user {
            (
                non_empty(field(record, email, &what)?),
                Some(Status::parse(field(record, status, &what)?)),
                Some(record.get(description).cloned().unwrap_or_default()),
            )
        } else {
            (
                None,
                None,
                record.get(description).and_then(|d| non_empty(d)),
            )
        };
        nodes.push(RescueNode {
            id: NodeId(id),
            parent: parent.map(NodeId),
            node_type: kind,
            name: node_name,
            email: node_email,
            nick: None,
            ssoid: None,
            description: node_description,
            status: node_status,
            mobile: None,
            rpat: None,
            account_holder: false,
        });
    }
    Ok(nodes)
}

/// Parses a whole `getHierarchy_v2` tree and checks it is complete: at least one node, no id
/// twice, and every node but a root has its parent in the tree. A root's parent outside the tree
/// is dropped.
pub fn parse_hierarchy(data: &str) -> Result<Vec<RescueNode>, WireError> {
    let mut nodes = parse_hierarchy_records(data)?;
    if nodes.is_empty() {
        return Err(wire_error("the hierarchy holds no nodes"));
    }
    let mut ids = HashSet::with_capacity(nodes.len());
    for node in &nodes {
        if !ids.insert(node.id) {
            return Err(wire_error(format!(
                "the hierarchy lists node {} twice",
                node.id
            )));
        }
    }
    for node in &mut nodes {
        let Some(parent) = node.parent else { continue };
        if ids.contains(&parent) {
            continue;
        }
        if node.node_type == NodeType::Root {
            node.parent = None;
        } else {
            return Err(wire_error(format!(
                "the hierarchy lists node {} under node {parent}, which it does not hold; the \
                 answer looks truncated",
                node.id
            )));
        }
    }
    Ok(nodes)
}

/// One user as `getUser_v3` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserDetails {
    /// Node id.
    pub node: NodeId,
    /// Display name.
    pub name: String,
    /// Nickname.
    pub nick: String,
    /// E-mail.
    pub email: String,
    /// SSO ID.
    pub ssoid: String,
    /// Description.
    pub description: String,
    /// `Technician`, `Administrator` or `MasterAdministrator`.
    pub node_type: NodeType,
    /// Mobile add-on.
    pub mobile: bool,
    /// RPAT add-on.
    pub rpat: bool,
    /// Whether this is the account holder.
    pub account_holder: bool,
    /// Status (online states read as enabled).
    pub status: Status,
}

/// Parses a `getUser_v3` answer.
pub fn parse_user(data: &str) -> Result<UserDetails, WireError> {
    let [
        node_id,
        name,
        nick,
        email,
        ssoid,
        description,
        node_type,
        mobile,
        rpat,
        holder,
        status,
    ] = key::USER;
    let found = records(data, &key::USER, node_id)?;
    let [record] = found.as_slice() else {
        return Err(wire_error(format!(
            "the user answer holds {} records instead of one",
            found.len()
        )));
    };
    let what = "the user answer";
    Ok(UserDetails {
        node: NodeId(number(field(record, node_id, what)?, node_id, what)?),
        name: field(record, name, what)?.to_owned(),
        nick: field(record, nick, what)?.to_owned(),
        email: field(record, email, what)?.to_owned(),
        ssoid: field(record, ssoid, what)?.to_owned(),
        description: field(record, description, what)?.to_owned(),
        node_type: NodeType::parse(field(record, node_type, what)?),
        mobile: flag(field(record, mobile, what)?, mobile, what)?,
        rpat: flag(field(record, rpat, what)?, rpat, what)?,
        account_holder: flag(field(record, holder, what)?, holder, what)?,
        status: Status::parse(field(record, status, what)?),
    })
}

/// The account, as `getAccount` describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Account (company) id.
    pub account_id: u64,
    /// Organization name.
    pub organization: String,
    /// The caller's administrator node (0 when the caller is no administrator).
    pub admin_id: u64,
    /// The caller's technician node (0 when none).
    pub tech_id: u64,
    /// The account holder's e-mail.
    pub email: String,
}

/// Parses a `getAccount` answer.
pub fn parse_account(data: &str) -> Result<Account, WireError> {
    let [account_id, organization, admin_id, tech_id, email] = key::ACCOUNT;
    let found = records(data, &key::ACCOUNT, account_id)?;
    let [record] = found.as_slice() else {
        return Err(wire_error(format!(
            "the account answer holds {} records instead of one",
            found.len()
        )));
    };
    let what = "the account answer";
    let id = |k: &str| -> Result<u64, WireError> {
        field(record, k, what)?
            .trim()
            .parse()
            .map_err(|_| wire_error(format!("{what} has a `{k}` that is not a number")))
    };
    Ok(Account {
        account_id: id(account_id)?,
        organization: field(record, organization, what)?.to_owned(),
        admin_id: id(admin_id)?,
        tech_id: id(tech_id)?,
        email: field(record, email, what)?.to_owned(),
    })
}

/// Finds the authcode in a `requestAuthCode` answer (`AUTHCODE: x` or `AUTHCODE:x`).
pub fn parse_authcode(data: &str) -> Result<String, WireError> {
    let lower = data.to_ascii_lowercase();
    let marker = key::AUTHCODE.to_ascii_lowercase();
    let missing = || wire_error("the authcode answer holds no authcode");
    let at = lower.find(&marker).ok_or_else(missing)?;
    let rest = data.get(at + marker.len()..).ok_or_else(missing)?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix(':').ok_or_else(missing)?;
    let authcode = rest.split_whitespace().next().ok_or_else(missing)?;
    Ok(authcode.to_owned())
}

/// The id in a `createUser` / `createGroup` answer: the data after the status is the id alone
/// (or `NodeID:<id>`). Anything else is an error, not a guess: taking the first number out of
/// a malformed answer could name a node this call did not make.
pub fn parse_created(data: &str) -> Result<NodeId, WireError> {
    let text = data.trim();
    let digits = match text.split_once(':') {
        Some((k, id)) if k.trim().eq_ignore_ascii_case(key::HIERARCHY[0]) => id.trim(),
        _ => text,
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(wire_error("the answer is not a new node id alone"));
    }
    match digits.parse() {
        Ok(0) => Err(wire_error("the new node id is 0")),
        Ok(id) => Ok(NodeId(id)),
        Err(_) => Err(wire_error("the new node id is out of range")),
    }
}

#[cfg(test)]
mod tests;
