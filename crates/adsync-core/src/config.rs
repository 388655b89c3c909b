//! The configuration model of SPEC §4 and its validation.
//!
//! Decoding (YAML text to [`Config`]) happens in the CLI; this module owns the shape, the defaults
//! and every rule that does not need the outside world. Unknown keys are rejected by serde.

use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::condition::{self, Condition};
use crate::model::{GroupPath, NodeId, Role, UserKey};
use crate::secret::SecretRef;
use crate::template::Template;

/// The whole configuration file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the desired state comes from.
    pub source: SourceConfig,
    /// The Rescue organization to keep in line.
    pub target: TargetConfig,
    /// Global settings.
    #[serde(default)]
    pub sync: SyncConfig,
    /// Pairings, in priority order.
    #[serde(default)]
    pub pairings: Vec<Pairing>,
    /// The rules of a GoTo account target (`target: { type: goto }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goto: Option<crate::goto::GotoConfig>,
}

/// `source:`.
///
/// Read through a flat section with every key of every type, so an unknown key is reported
/// with its key path, line and column (an internally tagged enum loses both), and a key that
/// does not belong to the chosen type gets a message saying so.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "RawSource")]
pub enum SourceConfig {
    /// Microsoft Graph.
    Graph(GraphSourceConfig),
    /// A directory snapshot file.
    Snapshot(SnapshotSourceConfig),
    /// An on-premises Active Directory (or another LDAP directory) over LDAP.
    Ldap(LdapSourceConfig),
}

impl SourceConfig {
    /// Whether nested groups are expanded.
    pub fn nested_groups(&self) -> bool {
        match self {
            SourceConfig::Graph(graph) => graph.nested_groups,
            SourceConfig::Snapshot(snapshot) => snapshot.nested_groups,
            SourceConfig::Ldap(ldap) => ldap.nested_groups,
        }
    }
}

/// `source: { type: graph }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSourceConfig {
    /// Tenant id or verified domain.
    pub tenant: String,
    /// Application (client) id.
    pub client_id: String,
    /// The client secret reference.
    pub client_secret: SecretRef,
    /// National cloud.
    #[serde(default)]
    pub cloud: Cloud,
    /// Overrides the cloud's token authority (tests, proxies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_url: Option<String>,
    /// Overrides the cloud's Graph endpoint (tests, proxies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graph_url: Option<String>,
    /// Expand nested groups.
    #[serde(default = "yes")]
    pub nested_groups: bool,
    /// Groups read at once.
    #[serde(default = "default_graph_concurrency")]
    pub concurrency: usize,
    /// Retry policy overrides.
    #[serde(default)]
    pub retry: RetryConfig,
}

/// `retry:` of a source or target: how hard an adapter tries before a call counts as failed.
/// Every field is optional; the adapter's defaults fill the rest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts per call, the first included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    /// The first backoff wait, in milliseconds (doubled for each further retry, with jitter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_backoff_ms: Option<u64>,
    /// The longest backoff wait, in milliseconds (a `Retry-After` may ask for more).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_backoff_ms: Option<u64>,
    /// The time one call may take, retries and waits included, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_elapsed_s: Option<u64>,
    /// The time one request may take before it counts as timed out, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_timeout_s: Option<u64>,
}

/// The national clouds of Microsoft Graph.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// Global service.
    #[default]
    Global,
    /// US Government L4.
    Usgov,
    /// US Government L5 (DOD).
    UsgovDod,
    /// China, operated by 21Vianet.
    China,
}

/// `source: { type: snapshot }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSourceConfig {
    /// The directory snapshot file (relative to the config file).
    pub path: String,
    /// Expand nested groups.
    #[serde(default = "yes")]
    pub nested_groups: bool,
}

/// `source: { type: ldap }`: an Active Directory domain controller over LDAPS or StartTLS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapSourceConfig {
    /// `ldaps://host:636`, or `ldap://host:389` with `starttls: true`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    #[serde(default)]
    pub starttls: bool,
    /// A PEM file of the certificate authorities to trust instead of the system's (relative
    /// to the config file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// The account adsync binds as (a DN, or a UPN such as `svc-adsync@corp.example`).
    pub bind_dn: String,
    /// The account's password reference; an empty password is refused (AD would treat the
    /// bind as anonymous).
    pub password: SecretRef,
    /// Where users and groups are searched (`DC=corp,DC=example`).
    pub base_dn: String,
    /// Expand nested groups.
    #[serde(default = "yes")]
    pub nested_groups: bool,
    /// How nested groups are expanded.
    #[serde(default)]
    pub in_chain: InChain,
    /// Entries per page of every search (Active Directory caps a page at 1,000).
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// The time one LDAP operation may take, in seconds.
    #[serde(default = "default_ldap_timeout")]
    pub timeout_s: u64,
    /// LDAP operations in flight at once on the connection.
    #[serde(default = "default_ldap_concurrency")]
    pub concurrency: usize,
}

/// Whether nested groups are expanded by the server's in-chain matching rule
/// (`1.2.840.113556.1.4.1941`) or by walking `member` values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InChain {
    /// Use the rule when the server's root DSE says it supports it (Windows Server 2008 and
    /// later), walk `member` otherwise.
    #[default]
    Auto,
    /// Always use the rule.
    Always,
    /// Always walk `member`.
    Never,
}

/// `target:`, read like [`SourceConfig`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "RawTarget")]
pub enum TargetConfig {
    /// The LogMeIn Rescue API.
    Rescue(RescueTargetConfig),
    /// A Rescue snapshot file, rewritten on apply.
    Snapshot(SnapshotTargetConfig),
    /// A GoTo account through the GoTo Admin API (rules in `goto:`).
    Goto(crate::goto::GotoTargetConfig),
}

impl TargetConfig {
    /// Actions run at once within a phase.
    pub fn concurrency(&self) -> usize {
        match self {
            TargetConfig::Rescue(rescue) => rescue.concurrency,
            TargetConfig::Snapshot(snapshot) => snapshot.concurrency,
            TargetConfig::Goto(goto) => goto.concurrency,
        }
    }
}

/// `target: { type: rescue }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescueTargetConfig {
    /// Data-centre region.
    #[serde(default)]
    pub region: Region,
    /// Overrides the region's base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// How adsync signs in.
    pub auth: RescueAuth,
    /// The password given to new users (changed at first login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_password: Option<SecretRef>,
    /// Actions run at once within a phase.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Retry policy overrides.
    #[serde(default)]
    pub retry: RetryConfig,
}

/// Rescue regions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// `https://secure.logmeinrescue.com`.
    #[default]
    Global,
    /// The EU data centre.
    Eu,
    /// Rescue Enterprise.
    Enterprise,
}

/// `target.auth`: an API token, or an e-mail and password.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RescueAuth {
    /// An API token (or authcode), sent as `authcode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token: Option<SecretRef>,
    /// The account's e-mail, for password sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The password reference, exchanged once per run with `requestAuthCode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

/// How adsync signs in to Rescue, once [`Config::validate`] has checked `target.auth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RescueAuthMode<'a> {
    /// An API token.
    Token(&'a SecretRef),
    /// E-mail and password.
    Password {
        /// The account's e-mail.
        email: &'a str,
        /// The password reference.
        password: &'a SecretRef,
    },
}

impl RescueAuth {
    /// The sign-in mode; `None` when the section is incomplete or mixes both modes.
    pub fn mode(&self) -> Option<RescueAuthMode<'_>> {
        match (&self.api_token, &self.email, &self.password) {
            (Some(token), None, None) => Some(RescueAuthMode::Token(token)),
            (None, Some(email), Some(password)) => {
                Some(RescueAuthMode::Password { email, password })
            }
            _ => None,
        }
    }
}

/// `target: { type: snapshot }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotTargetConfig {
    /// The Rescue snapshot file (relative to the config file).
    pub path: String,
    /// Actions run at once within a phase.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

/// `sync:`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    /// Groups, users and hierarchy match exactly (`true`), or only status is synced (`false`).
    #[serde(default = "yes")]
    pub full_group_sync: bool,
    /// Match on userPrincipalName instead of mail.
    #[serde(default)]
    pub use_upn_instead_of_email: bool,
    /// Default for pairings that set neither SSO flag.
    #[serde(default)]
    pub email_as_ssoid: bool,
    /// Create missing destination groups instead of failing.
    #[serde(default)]
    pub create_missing_groups: bool,
    /// Wall-clock budget of one read of the directory, in seconds; a read past it fails.
    /// Operational, not part of what a plan means: left out of the serialized form, so of the
    /// configuration's digest (a saved plan stays valid when only the budget changes).
    #[serde(default = "default_read_budget", skip_serializing)]
    pub read_budget_s: u64,
    /// E-mails adsync never modifies.
    #[serde(default)]
    pub protected: Vec<String>,
    /// Size limits.
    #[serde(default)]
    pub limits: Limits,
    /// Blast-radius budget.
    #[serde(default)]
    pub safety: SafetyConfig,
    /// State directory (relative to the config file).
    #[serde(default = "default_state_dir")]
    pub state_dir: String,
    /// Templates for the Rescue fields, for every pairing that gives none of its own.
    #[serde(default, skip_serializing_if = "Mapping::is_empty")]
    pub attributes: Mapping,
    /// The secret that signs saved plans (an HMAC written by `plan --out`, required by
    /// `apply plan.json`); without it a saved plan carries a digest only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_signing_key: Option<SecretRef>,
    /// How often an incremental run reads everything anyway (`24h`; a number and a unit).
    /// Left out of the serialized form (and so of the plan's configuration digest) when it is
    /// the default: how often adsync reads changes no plan.
    #[serde(default = "default_day", skip_serializing_if = "is_default_day")]
    pub full_read_every: String,
    /// The window over which every cached Rescue detail is read again (`24h`).
    #[serde(default = "default_day", skip_serializing_if = "is_default_day")]
    pub verify_every: String,
}

impl Default for SyncConfig {
    fn default() -> SyncConfig {
        SyncConfig {
            full_group_sync: true,
            use_upn_instead_of_email: false,
            email_as_ssoid: false,
            create_missing_groups: false,
            read_budget_s: default_read_budget(),
            protected: Vec::new(),
            limits: Limits::default(),
            safety: SafetyConfig::default(),
            state_dir: default_state_dir(),
            attributes: Mapping::default(),
            plan_signing_key: None,
            full_read_every: default_day(),
            verify_every: default_day(),
        }
    }
}

/// `sync.limits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most pairings allowed.
    #[serde(default = "default_limit")]
    pub max_pairings: usize,
    /// Most members an Entra group may have.
    #[serde(default = "default_limit")]
    pub max_members_per_group: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_pairings: default_limit(),
            max_members_per_group: default_limit(),
        }
    }
}

/// `sync.safety`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyConfig {
    /// Most disables a plan may hold before it is blocked.
    #[serde(default = "default_max_disables")]
    pub max_disables: Budget,
    /// Most moves a plan may hold before it is blocked.
    #[serde(default = "default_max_moves")]
    pub max_moves: Budget,
}

impl Default for SafetyConfig {
    fn default() -> SafetyConfig {
        SafetyConfig {
            max_disables: default_max_disables(),
            max_moves: default_max_moves(),
        }
    }
}

/// A blast-radius budget: a count or a percentage of the enabled managed users.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// At most this many.
    Count(u64),
    /// At most this percentage (never fewer than [`Budget::PERCENT_FLOOR`]).
    Percent(u32),
}

impl Budget {
    /// A percentage never blocks fewer than this many changes.
    pub const PERCENT_FLOOR: u64 = 5;

    /// The number of changes allowed when `base` managed users are enabled.
    pub fn allowance(self, base: u64) -> u64 {
        match self {
            Budget::Count(count) => count,
            Budget::Percent(percent) => {
                (base * u64::from(percent) / 100).max(Budget::PERCENT_FLOOR)
            }
        }
    }

    fn parse(text: &str) -> Result<Budget, String> {
        let text = text.trim();
        let expected = "a count (`50`) or a percentage (`\"10%\"`)";
        if let Some(number) = text.strip_suffix('%') {
            match number.trim().parse::<u32>() {
                Ok(percent) if percent <= 100 => Ok(Budget::Percent(percent)),
                _ => Err(format!(
                    "`{text}` is not {expected}: a percentage is 0% to 100%"
                )),
            }
        } else {
            text.parse::<u64>()
                .map(Budget::Count)
                .map_err(|_| format!("`{text}` is not {expected}"))
        }
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Budget::Count(count) => write!(f, "{count}"),
            Budget::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

impl Serialize for Budget {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Budget::Count(count) => serializer.serialize_u64(*count),
            Budget::Percent(_) => serializer.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BudgetVisitor;

        impl Visitor<'_> for BudgetVisitor {
            type Value = Budget;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count (`50`) or a percentage (`\"10%\"`)")
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Budget, E> {
                Ok(Budget::Count(value))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Budget, E> {
                u64::try_from(value).map(Budget::Count).map_err(|_| {
                    E::custom(format!(
                        "`{value}` is negative; expected a count or a percentage"
                    ))
                })
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Budget, E> {
                Budget::parse(value).map_err(E::custom)
            }
        }

        deserializer.deserialize_any(BudgetVisitor)
    }
}

/// One pairing: an Entra group to a Rescue destination with a role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pairing {
    /// Label; defaults to the Entra group's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The Entra group; may be left out when `where` selects the members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entra_group: Option<GroupRef>,
    /// A condition over directory attributes that members satisfy: alone it selects from the
    /// whole directory, with `entra_group` from the group's members.
    #[serde(rename = "where", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Where>,
    /// The Rescue destination (absent for master administrators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescue_group: Option<DestinationRef>,
    /// The role granted.
    pub role: Role,
    /// Members get the mobile add-on.
    #[serde(default)]
    pub mobile_license: bool,
    /// SSO ID := userPrincipalName.
    #[serde(default)]
    pub upn_as_ssoid: bool,
    /// SSO ID := the key e-mail; defaults to `sync.email_as_ssoid` when neither flag is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email_as_ssoid: Option<bool>,
    /// Rescue fields kept equal to the directory: a list (`[name, email]`), or a map from
    /// field to template (`{ name: "{displayName} ({department})", email: null }`).
    #[serde(default)]
    pub attributes: Synced,
}

impl Pairing {
    /// The label shown in plans and reports.
    pub fn label(&self) -> String {
        match (&self.name, &self.entra_group, &self.condition) {
            (Some(name), _, _) => name.clone(),
            (None, Some(group), _) => group.to_string(),
            (None, None, Some(condition)) => format!("where {}", condition.as_str()),
            (None, None, None) => String::new(),
        }
    }
}

/// A pairing's `where:`: the condition as written and as parsed.
#[derive(Clone, Debug)]
pub struct Where {
    text: String,
    condition: Condition,
}

impl Where {
    /// Parses `text` ([`condition::parse`]).
    pub fn parse(text: &str) -> Result<Where, condition::ParseError> {
        Ok(Where {
            text: text.to_owned(),
            condition: condition::parse(text)?,
        })
    }

    /// The condition as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The condition as parsed.
    pub fn condition(&self) -> &Condition {
        &self.condition
    }
}

impl PartialEq for Where {
    fn eq(&self, other: &Where) -> bool {
        self.text == other.text
    }
}

impl Serialize for Where {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Where {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Where, D::Error> {
        let text = String::deserialize(deserializer)?;
        Where::parse(&text)
            .map_err(|error| de::Error::custom(format!("where: condition `{text}`, {error}")))
    }
}

/// Templates for the Rescue fields (`sync.attributes`, or the map form of a pairing's
/// `attributes`); a field without one keeps its fixed source.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// name (default: displayName, or the key when it is empty).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "name_template"
    )]
    pub name: Option<Template>,
    /// nick (default: givenName).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "nick_template"
    )]
    pub nick: Option<Template>,
    /// email: the identity key; a template is refused by [`Config::validate`].
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "email_template"
    )]
    pub email: Option<Template>,
    /// SSO ID (default: per `upn_as_ssoid` / `email_as_ssoid`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "ssoid_template"
    )]
    pub ssoid: Option<Template>,
    /// description (default: jobTitle).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "description_template"
    )]
    pub description: Option<Template>,
}

/// A field's template, parsed; a mistake names the field and the column.
fn field_template<'de, D: Deserializer<'de>>(
    deserializer: D,
    field: &str,
) -> Result<Option<Template>, D::Error> {
    let Some(text) = Option::<String>::deserialize(deserializer)? else {
        return Ok(None);
    };
    crate::template::parse(&text)
        .map(Some)
        .map_err(|error| de::Error::custom(format!("{field}: template `{text}`, {error}")))
}

macro_rules! field_templates {
    ($($name:ident => $field:literal),*) => {$(
        fn $name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Template>, D::Error> {
            field_template(deserializer, $field)
        }
    )*};
}

field_templates!(
    name_template => "name",
    nick_template => "nick",
    email_template => "email",
    ssoid_template => "ssoid",
    description_template => "description"
);

impl Mapping {
    /// Whether no field has a template.
    pub fn is_empty(&self) -> bool {
        Attribute::ALL
            .iter()
            .all(|&field| self.get(field).is_none())
    }

    /// The template of `field`.
    pub fn get(&self, field: Attribute) -> Option<&Template> {
        match field {
            Attribute::Name => self.name.as_ref(),
            Attribute::Nick => self.nick.as_ref(),
            Attribute::Email => self.email.as_ref(),
            Attribute::Ssoid => self.ssoid.as_ref(),
            Attribute::Description => self.description.as_ref(),
        }
    }

    fn slot(&mut self, field: Attribute) -> &mut Option<Template> {
        match field {
            Attribute::Name => &mut self.name,
            Attribute::Nick => &mut self.nick,
            Attribute::Email => &mut self.email,
            Attribute::Ssoid => &mut self.ssoid,
            Attribute::Description => &mut self.description,
        }
    }
}

/// A pairing's `attributes`: which Rescue fields are kept equal to the directory, and the
/// pairing's own templates for some of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synced {
    /// The fields kept equal.
    pub fields: BTreeSet<Attribute>,
    /// The pairing's templates (only for fields in `fields`).
    pub templates: Mapping,
}

impl Default for Synced {
    fn default() -> Synced {
        Synced {
            fields: default_attributes(),
            templates: Mapping::default(),
        }
    }
}

impl Serialize for Synced {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        if self.templates.is_empty() {
            return self.fields.serialize(serializer);
        }
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for &field in &self.fields {
            map.serialize_entry(&field, &self.templates.get(field))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Synced {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Synced, D::Error> {
        struct SyncedVisitor;

        impl<'de> Visitor<'de> for SyncedVisitor {
            type Value = Synced;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of fields ([name, email]) or a map from field to template")
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Synced, A::Error> {
                let mut fields = BTreeSet::new();
                while let Some(field) = seq.next_element::<Attribute>()? {
                    fields.insert(field);
                }
                Ok(Synced {
                    fields,
                    templates: Mapping::default(),
                })
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Synced, A::Error> {
                let mut synced = Synced {
                    fields: BTreeSet::new(),
                    templates: Mapping::default(),
                };
                while let Some(field) = map.next_key::<Attribute>()? {
                    if !synced.fields.insert(field) {
                        return Err(de::Error::custom(format!(
                            "`{}` given twice",
                            field.as_str()
                        )));
                    }
                    let text = map.next_value::<Option<String>>()?;
                    *synced.templates.slot(field) = match text {
                        None => None,
                        Some(text) => Some(crate::template::parse(&text).map_err(|error| {
                            de::Error::custom(format!(
                                "attributes.{}: template `{text}`, {error}",
                                field.as_str()
                            ))
                        })?),
                    };
                }
                Ok(synced)
            }
        }

        deserializer.deserialize_any(SyncedVisitor)
    }
}

/// An Entra group, by display name or `{ id: <guid> }`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum GroupRef {
    /// By object id.
    Id {
        /// The group's object id.
        id: String,
    },
    /// By exact display name.
    Name(String),
}

impl fmt::Display for GroupRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupRef::Id { id } => write!(f, "{id}"),
            GroupRef::Name(name) => write!(f, "{name}"),
        }
    }
}

/// A Rescue destination, by path below the role's container or `{ id: N }`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DestinationRef {
    /// By node id.
    Id {
        /// The group's node id.
        id: NodeId,
    },
    /// By path (`Helpdesk/L2`; `""` for the Administrators container).
    Path(GroupPath),
}

/// A Rescue field adsync can keep equal to the directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attribute {
    /// name <- displayName.
    Name,
    /// nick <- givenName.
    Nick,
    /// email <- the identity key.
    Email,
    /// SSO ID <- per `upn_as_ssoid` / `email_as_ssoid`.
    Ssoid,
    /// description <- jobTitle.
    Description,
}

impl Attribute {
    /// Every field, in order.
    pub const ALL: [Attribute; 5] = [
        Attribute::Name,
        Attribute::Nick,
        Attribute::Email,
        Attribute::Ssoid,
        Attribute::Description,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Attribute::Name => "name",
            Attribute::Nick => "nick",
            Attribute::Email => "email",
            Attribute::Ssoid => "ssoid",
            Attribute::Description => "description",
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum SourceType {
    Graph,
    Snapshot,
    Ldap,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    #[serde(rename = "type")]
    kind: SourceType,
    tenant: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretRef>,
    cloud: Option<Cloud>,
    authority_url: Option<String>,
    graph_url: Option<String>,
    nested_groups: Option<bool>,
    concurrency: Option<usize>,
    retry: Option<RetryConfig>,
    path: Option<String>,
    url: Option<String>,
    starttls: Option<bool>,
    ca_file: Option<String>,
    bind_dn: Option<String>,
    password: Option<SecretRef>,
    base_dn: Option<String>,
    in_chain: Option<InChain>,
    page_size: Option<u32>,
    timeout_s: Option<u64>,
}

impl RawSource {
    /// Which of the `type: ldap` keys are set, for [`not_with`].
    fn ldap_keys(&self) -> [(&'static str, bool); 9] {
        [
            ("url", self.url.is_some()),
            ("starttls", self.starttls.is_some()),
            ("ca_file", self.ca_file.is_some()),
            ("bind_dn", self.bind_dn.is_some()),
            ("password", self.password.is_some()),
            ("base_dn", self.base_dn.is_some()),
            ("in_chain", self.in_chain.is_some()),
            ("page_size", self.page_size.is_some()),
            ("timeout_s", self.timeout_s.is_some()),
        ]
    }

    fn into_ldap(self) -> Result<SourceConfig, String> {
        let graph_keys = [
            ("tenant", self.tenant.is_some()),
            ("client_id", self.client_id.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("cloud", self.cloud.is_some()),
            ("authority_url", self.authority_url.is_some()),
            ("graph_url", self.graph_url.is_some()),
            ("retry", self.retry.is_some()),
            ("path", self.path.is_some()),
        ];
        not_with("source", "ldap", &graph_keys)?;
        Ok(SourceConfig::Ldap(LdapSourceConfig {
            url: required("source", self.url, "url", "ldap")?,
            starttls: self.starttls.unwrap_or(false),
            ca_file: self.ca_file,
            bind_dn: required("source", self.bind_dn, "bind_dn", "ldap")?,
            password: required("source", self.password, "password", "ldap")?,
            base_dn: required("source", self.base_dn, "base_dn", "ldap")?,
            nested_groups: self.nested_groups.unwrap_or(true),
            in_chain: self.in_chain.unwrap_or_default(),
            page_size: self.page_size.unwrap_or_else(default_page_size),
            timeout_s: self.timeout_s.unwrap_or_else(default_ldap_timeout),
            concurrency: self.concurrency.unwrap_or_else(default_ldap_concurrency),
        }))
    }
}

impl TryFrom<RawSource> for SourceConfig {
    type Error = String;

    fn try_from(raw: RawSource) -> Result<SourceConfig, String> {
        let nested_groups = raw.nested_groups.unwrap_or(true);
        let kind = match raw.kind {
            SourceType::Ldap => return raw.into_ldap(),
            SourceType::Graph => "graph",
            SourceType::Snapshot => "snapshot",
        };
        not_with("source", kind, &raw.ldap_keys())?;
        match raw.kind {
            SourceType::Ldap => raw.into_ldap(),
            SourceType::Graph => {
                not_with("source", "graph", &[("path", raw.path.is_some())])?;
                Ok(SourceConfig::Graph(GraphSourceConfig {
                    tenant: required("source", raw.tenant, "tenant", "graph")?,
                    client_id: required("source", raw.client_id, "client_id", "graph")?,
                    client_secret: required("source", raw.client_secret, "client_secret", "graph")?,
                    cloud: raw.cloud.unwrap_or_default(),
                    authority_url: raw.authority_url,
                    graph_url: raw.graph_url,
                    nested_groups,
                    concurrency: raw.concurrency.unwrap_or_else(default_graph_concurrency),
                    retry: raw.retry.unwrap_or_default(),
                }))
            }
            SourceType::Snapshot => {
                not_with(
                    "source",
                    "snapshot",
                    &[
                        ("tenant", raw.tenant.is_some()),
                        ("client_id", raw.client_id.is_some()),
                        ("client_secret", raw.client_secret.is_some()),
                        ("cloud", raw.cloud.is_some()),
                        ("authority_url", raw.authority_url.is_some()),
                        ("graph_url", raw.graph_url.is_some()),
                        ("concurrency", raw.concurrency.is_some()),
                        ("retry", raw.retry.is_some()),
                    ],
                )?;
                Ok(SourceConfig::Snapshot(SnapshotSourceConfig {
                    path: required("source", raw.path, "path", "snapshot")?,
                    nested_groups,
                }))
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum TargetType {
    Rescue,
    Snapshot,
    Goto,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    #[serde(rename = "type")]
    kind: TargetType,
    region: Option<Region>,
    base_url: Option<String>,
    auth: Option<RescueAuth>,
    default_password: Option<SecretRef>,
    concurrency: Option<usize>,
    retry: Option<RetryConfig>,
    path: Option<String>,
    client_id: Option<String>,
    client_secret: Option<SecretRef>,
    token_file: Option<String>,
    account_key: Option<String>,
    admin_url: Option<String>,
    token_url: Option<String>,
    suppress_email: Option<bool>,
}

impl RawTarget {
    /// The `type: goto` keys, for [`not_with`].
    fn goto_keys(&self) -> [(&'static str, bool); 7] {
        [
            ("client_id", self.client_id.is_some()),
            ("client_secret", self.client_secret.is_some()),
            ("token_file", self.token_file.is_some()),
            ("account_key", self.account_key.is_some()),
            ("admin_url", self.admin_url.is_some()),
            ("token_url", self.token_url.is_some()),
            ("suppress_email", self.suppress_email.is_some()),
        ]
    }

    fn into_goto(self, concurrency: usize) -> Result<TargetConfig, String> {
        let rescue_keys = [
            ("region", self.region.is_some()),
            ("base_url", self.base_url.is_some()),
            ("auth", self.auth.is_some()),
            ("default_password", self.default_password.is_some()),
            ("path", self.path.is_some()),
        ];
        not_with("target", "goto", &rescue_keys)?;
        Ok(TargetConfig::Goto(crate::goto::GotoTargetConfig {
            client_id: required("target", self.client_id, "client_id", "goto")?,
            client_secret: required("target", self.client_secret, "client_secret", "goto")?,
            token_file: self
                .token_file
                .unwrap_or_else(crate::goto::default_token_file),
            account_key: self.account_key,
            admin_url: self.admin_url,
            token_url: self.token_url,
            suppress_email: self.suppress_email.unwrap_or(false),
            concurrency,
            retry: self.retry.unwrap_or_default(),
        }))
    }
}

impl TryFrom<RawTarget> for TargetConfig {
    type Error = String;

    fn try_from(raw: RawTarget) -> Result<TargetConfig, String> {
        let concurrency = raw.concurrency.unwrap_or_else(default_concurrency);
        let kind = match raw.kind {
            TargetType::Goto => return raw.into_goto(concurrency),
            TargetType::Rescue => "rescue",
            TargetType::Snapshot => "snapshot",
        };
        not_with("target", kind, &raw.goto_keys())?;
        match raw.kind {
            TargetType::Goto => Err("target.type: goto was read above".to_owned()),
            TargetType::Rescue => {
                not_with("target", "rescue", &[("path", raw.path.is_some())])?;
                Ok(TargetConfig::Rescue(RescueTargetConfig {
                    region: raw.region.unwrap_or_default(),
                    base_url: raw.base_url,
                    auth: required("target", raw.auth, "auth", "rescue")?,
                    default_password: raw.default_password,
                    concurrency,
                    retry: raw.retry.unwrap_or_default(),
                }))
            }
            TargetType::Snapshot => {
                not_with(
                    "target",
                    "snapshot",
                    &[
                        ("region", raw.region.is_some()),
                        ("base_url", raw.base_url.is_some()),
                        ("auth", raw.auth.is_some()),
                        ("default_password", raw.default_password.is_some()),
                        ("retry", raw.retry.is_some()),
                    ],
                )?;
                Ok(TargetConfig::Snapshot(SnapshotTargetConfig {
                    path: required("target", raw.path, "path", "snapshot")?,
                    concurrency,
                }))
            }
        }
    }
}

fn required<T>(section: &str, value: Option<T>, key: &str, kind: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("{section}.{key}: required with `type: {kind}`"))
}

fn not_with(section: &str, kind: &str, keys: &[(&str, bool)]) -> Result<(), String> {
    match keys.iter().find(|(_, present)| *present) {
        Some((key, _)) => Err(format!("{section}.{key}: does not apply to `type: {kind}`")),
        None => Ok(()),
    }
}

fn yes() -> bool {
    true
}

fn default_concurrency() -> usize {
    4
}

fn default_graph_concurrency() -> usize {
    8
}

fn default_page_size() -> u32 {
    1000
}

fn default_ldap_concurrency() -> usize {
    8
}

fn default_ldap_timeout() -> u64 {
    60
}

/// 30 minutes: far above a large tenant's read, far below "holds the lock for hours".
fn default_read_budget() -> u64 {
    30 * 60
}

fn default_limit() -> usize {
    999
}

fn default_state_dir() -> String {
    ".adsync".to_owned()
}

fn default_day() -> String {
    "24h".to_owned()
}

fn is_default_day(value: &String) -> bool {
    *value == default_day()
}

fn default_max_disables() -> Budget {
    Budget::Percent(10)
}

fn default_max_moves() -> Budget {
    Budget::Percent(25)
}

fn default_attributes() -> BTreeSet<Attribute> {
    BTreeSet::from([Attribute::Name, Attribute::Email])
}

/// A configuration rule that does not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigProblem {
    /// The key path at fault (`pairings[2].rescue_group`).
    pub path: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl Config {
    /// Checks every rule of SPEC §4 that needs nothing but the file; all problems at once.
    pub fn validate(&self) -> Result<(), Vec<ConfigProblem>> {
        let mut problems = Vec::new();
        let mut problem =
            |path: String, message: String| problems.push(ConfigProblem { path, message });
        self.check_settings(&mut problem);
        self.check_pairings(&mut problem);
        crate::goto::check_config(self, &mut problem);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The limits, the adapters' settings and the protected e-mails.
    fn check_settings(&self, problem: &mut impl FnMut(String, String)) {
        let limits = self.sync.limits;
        if self.pairings.len() > limits.max_pairings {
            problem(
                "pairings".into(),
                format!(
                    "{} pairings; the limit is {} — raise sync.limits.max_pairings to allow more",
                    self.pairings.len(),
                    limits.max_pairings
                ),
            );
        }
        if limits.max_pairings == 0 {
            problem(
                "sync.limits.max_pairings".into(),
                "must be at least 1".into(),
            );
        }
        if self.target.concurrency() == 0 {
            problem("target.concurrency".into(), "must be at least 1".into());
        }
        if self.sync.read_budget_s == 0 {
            problem(
                "sync.read_budget_s".into(),
                "must be at least 1 (seconds; the default is 1800)".into(),
            );
        }
        if let SourceConfig::Graph(graph) = &self.source {
            if graph.concurrency == 0 {
                problem("source.concurrency".into(), "must be at least 1".into());
            }
            if graph.tenant.trim().is_empty() {
                problem(
                    "source.tenant".into(),
                    "must name a tenant id or verified domain".into(),
                );
            }
            if graph.client_id.trim().is_empty() {
                problem(
                    "source.client_id".into(),
                    "must be the application (client) id".into(),
                );
            }
        }
        if let SourceConfig::Ldap(ldap) = &self.source {
            ldap.validate(problem);
            for name in self.directory_attributes() {
                if name.starts_with("extension_") {
                    problem(
                        "source".into(),
                        format!(
                            "`{name}` is a directory schema extension of Entra ID; an LDAP \
                             source cannot read it"
                        ),
                    );
                }
            }
        }
        if let TargetConfig::Rescue(rescue) = &self.target {
            match rescue.auth.mode() {
                None => problem(
                    "target.auth".into(),
                    "expected either `api_token: { env: VARIABLE }`, or `email` with \
                     `password: { env: VARIABLE }`"
                        .into(),
                ),
                Some(RescueAuthMode::Password { email, .. })
                    if !UserKey::new(email).is_some_and(|key| key.is_email_like()) =>
                {
                    problem(
                        "target.auth.email".into(),
                        format!("`{email}` is not an e-mail address"),
                    );
                }
                Some(_) => {}
            }
        }
        for (index, email) in self.sync.protected.iter().enumerate() {
            if !UserKey::new(email).is_some_and(|key| key.is_email_like()) {
                problem(
                    format!("sync.protected[{index}]"),
                    format!("`{email}` is not an e-mail address"),
                );
            }
        }
    }

    /// Each pairing's destination, SSO setting and group, and pairings given twice.
    fn check_pairings(&self, problem: &mut impl FnMut(String, String)) {
        type Selects<'a> = (Option<&'a GroupRef>, Option<&'a str>);
        let mut seen: Vec<(Selects<'_>, Role, Option<DestinationRef>, usize)> = Vec::new();
        for (index, pairing) in self.pairings.iter().enumerate() {
            let at = format!("pairings[{index}]");
            let destination = pairing.rescue_group.as_ref();
            match (pairing.role, destination) {
                (Role::MasterAdministrator, Some(DestinationRef::Path(path))) if !path.is_root() => {
                    problem(
                        format!("{at}.rescue_group"),
                        "a master_administrator pairing has no group path: master administrators live \
                         directly under Master Administrators; remove rescue_group"
                            .into(),
                    );
                }
                (Role::MasterAdministrator, Some(DestinationRef::Id { .. })) => problem(
                    format!("{at}.rescue_group"),
                    "a master_administrator pairing has no destination group; remove rescue_group".into(),
                ),
                (Role::Technician, None) => problem(
                    format!("{at}.rescue_group"),
                    "a technician pairing needs a Technician Group path (`Helpdesk/L2`) or `{ id: N }`"
                        .into(),
                ),
                (Role::Technician, Some(DestinationRef::Path(path))) if path.is_root() => problem(
                    format!("{at}.rescue_group"),
                    "technicians cannot sit directly under Technicians; name a Technician Group".into(),
                ),
                (Role::Administrator, None) => problem(
                    format!("{at}.rescue_group"),
                    "an administrator pairing needs an Administrator Group path, or `\"\"` for the \
                     Administrators container"
                        .into(),
                ),
                _ => {}
            }
            if pairing.upn_as_ssoid && pairing.email_as_ssoid == Some(true) {
                problem(
                    at.clone(),
                    "upn_as_ssoid and email_as_ssoid are both set; choose one".into(),
                );
            }
            if let Some(GroupRef::Name(name) | GroupRef::Id { id: name }) = &pairing.entra_group
                && name.trim().is_empty()
            {
                problem(format!("{at}.entra_group"), "must name a group".into());
            }
            if pairing.entra_group.is_none() && pairing.condition.is_none() {
                problem(
                    at.clone(),
                    "selects nobody: give `entra_group`, `where` (a condition over attributes), \
                     or both"
                        .into(),
                );
            }
            check_templates(
                &format!("{at}.attributes"),
                &pairing.attributes.templates,
                problem,
            );
            if pairing.attributes.templates.ssoid.is_some()
                && (pairing.upn_as_ssoid || pairing.email_as_ssoid == Some(true))
            {
                problem(
                    format!("{at}.attributes.ssoid"),
                    "a template and upn_as_ssoid/email_as_ssoid both set the SSO ID; choose one"
                        .into(),
                );
            }
            // Rescue group names compare without regard to case.
            let normalized = normalize_destination(pairing.role, destination).map(|d| match d {
                DestinationRef::Path(path) => {
                    DestinationRef::Path(GroupPath::parse(&path.folded()))
                }
                other => other.clone(),
            });
            let selects = (
                pairing.entra_group.as_ref(),
                pairing.condition.as_ref().map(Where::as_str),
            );
            if let Some((_, _, _, first)) = seen.iter().find(|(group, role, dest, _)| {
                *group == selects && *role == pairing.role && *dest == normalized
            }) {
                let what = match (&pairing.entra_group, &pairing.condition) {
                    (Some(group), None) => format!("Entra group `{group}`"),
                    (Some(group), Some(c)) => {
                        format!("Entra group `{group}` and condition `{}`", c.as_str())
                    }
                    (None, Some(c)) => format!("condition `{}`", c.as_str()),
                    (None, None) => "selection".to_owned(),
                };
                problem(
                    at.clone(),
                    format!(
                        "duplicates pairings[{first}]: the same {what} to the same destination"
                    ),
                );
            } else {
                seen.push((selects, pairing.role, normalized, index));
            }
        }
        check_templates("sync.attributes", &self.sync.attributes, problem);
    }

    /// A digest of the configuration's meaning, kept in saved plans so a plan made from another
    /// configuration is refused.
    pub fn digest(&self) -> String {
        // serde_json of these types cannot fail: they hold only strings, numbers, bools, maps
        // with string keys and sequences.
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        let hash = Sha256::digest(&canonical);
        let mut hex = String::with_capacity(64);
        for byte in hash {
            hex.push_str(&format!("{byte:02x}"));
        }
        format!("sha256:{hex}")
    }

    /// The attributes beyond the fixed ones that the templates and conditions read, by Graph
    /// name, sorted, each once: what a source must read besides a `DirectoryUser`'s fields.
    pub fn directory_attributes(&self) -> Vec<String> {
        let mut names: BTreeSet<&str> = BTreeSet::new();
        let mut mappings = vec![&self.sync.attributes];
        for pairing in &self.pairings {
            mappings.push(&pairing.attributes.templates);
        }
        let rules = self.goto.iter().flat_map(|goto| goto.rules.iter());
        let conditions = self
            .pairings
            .iter()
            .filter_map(|pairing| pairing.condition.as_ref())
            .chain(rules.filter_map(|rule| rule.condition.as_ref()));
        for condition in conditions {
            names.extend(condition.condition().attributes());
        }
        for mapping in mappings {
            for field in Attribute::ALL {
                names.extend(
                    mapping
                        .get(field)
                        .into_iter()
                        .flat_map(Template::attributes),
                );
            }
        }
        names
            .into_iter()
            .filter(|name| {
                !crate::attribute::FIXED
                    .iter()
                    .any(|(fixed, _)| fixed == name)
            })
            .map(str::to_owned)
            .collect()
    }

    /// The protected e-mails as keys (invalid ones are reported by [`Config::validate`]).
    pub fn protected_keys(&self) -> BTreeSet<UserKey> {
        self.sync
            .protected
            .iter()
            .filter_map(|email| UserKey::new(email))
            .collect()
    }
}

impl LdapSourceConfig {
    /// The rules of `source: { type: ldap }` that need nothing but the file.
    fn validate(&self, problem: &mut impl FnMut(String, String)) {
        let url = self.url.trim().to_ascii_lowercase();
        let ldaps = url.starts_with("ldaps://");
        if !ldaps && !url.starts_with("ldap://") {
            problem(
                "source.url".into(),
                format!(
                    "`{}` is not an ldaps:// or ldap:// url (e.g. ldaps://dc1.corp.example:636)",
                    self.url
                ),
            );
        }
        if ldaps && self.starttls {
            problem(
                "source.starttls".into(),
                "an ldaps:// connection is already encrypted; StartTLS applies to ldap:// only"
                    .into(),
            );
        }
        for (key, value, what) in [
            ("bind_dn", &self.bind_dn, "the account adsync binds as"),
            (
                "base_dn",
                &self.base_dn,
                "where users and groups are searched",
            ),
        ] {
            if value.trim().is_empty() {
                problem(format!("source.{key}"), format!("must name {what}"));
            }
        }
        if self.ca_file.as_deref().is_some_and(|f| f.trim().is_empty()) {
            problem("source.ca_file".into(), "must name a PEM file".into());
        }
        for (key, zero) in [
            ("page_size", self.page_size == 0),
            ("timeout_s", self.timeout_s == 0),
            ("concurrency", self.concurrency == 0),
        ] {
            if zero {
                problem(format!("source.{key}"), "must be at least 1".into());
            }
        }
    }
}

/// The e-mail is the identity key adsync matches Rescue users by; it takes no template.
fn check_templates(at: &str, mapping: &Mapping, problem: &mut impl FnMut(String, String)) {
    if mapping.email.is_some() {
        problem(
            format!("{at}.email"),
            "the e-mail is the identity key (mail, or userPrincipalName with \
             use_upn_instead_of_email) and takes no template; remove it"
                .into(),
        );
    }
}

fn normalize_destination(
    role: Role,
    destination: Option<&DestinationRef>,
) -> Option<&DestinationRef> {
    match role {
        Role::MasterAdministrator => None,
        _ => destination,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_budget_has_a_floor_of_five() {
        assert_eq!(Budget::Percent(10).allowance(20), 5);
        assert_eq!(Budget::Percent(10).allowance(1000), 100);
        assert_eq!(Budget::Count(3).allowance(1000), 3);
    }

    fn source(yaml: &str) -> Result<SourceConfig, String> {
        serde_yaml::from_str::<SourceConfig>(yaml).map_err(|error| error.to_string())
    }

    const LDAP: &str = "type: ldap\nurl: ldaps://dc1.corp.example\nbind_dn: svc@corp.example\n\
                        password: { env: LDAP_PASSWORD }\nbase_dn: DC=corp,DC=example\n";

    #[test]
    fn the_ldap_section_has_defaults_and_refuses_foreign_keys() {
        let Ok(SourceConfig::Ldap(ldap)) = source(LDAP) else {
            panic!("an ldap source: {:?}", source(LDAP));
        };
        assert_eq!(
            (
                ldap.page_size,
                ldap.timeout_s,
                ldap.in_chain,
                ldap.nested_groups
            ),
            (1000, 60, InChain::Auto, true)
        );
        let graph_key = source(&format!("{LDAP}tenant: contoso\n")).expect_err("refused");
        assert!(
            graph_key.contains("source.tenant: does not apply to `type: ldap`"),
            "{graph_key}"
        );
        let ldap_key = source("type: snapshot\npath: d.yaml\nbind_dn: x\n").expect_err("refused");
        assert!(
            ldap_key.contains("source.bind_dn: does not apply to `type: snapshot`"),
            "{ldap_key}"
        );
        let missing = source("type: ldap\nurl: ldaps://dc1\n").expect_err("refused");
        assert!(
            missing.contains("source.bind_dn: required with `type: ldap`"),
            "{missing}"
        );
    }

    #[test]
    fn the_ldap_section_is_validated() {
        let text = "source:
  type: ldap
  url: ldaps://dc1.corp.example
  starttls: true
  page_size: 0
  bind_dn: svc@corp.example
  password: { env: LDAP_PASSWORD }
  base_dn: ' '
target: { type: snapshot, path: r.yaml }
";
        let config: Config = serde_yaml::from_str(text).expect("parses");
        let problems: Vec<String> = config
            .validate()
            .expect_err("invalid")
            .iter()
            .map(ToString::to_string)
            .collect();
        for key in ["source.starttls:", "source.base_dn:", "source.page_size:"] {
            assert!(
                problems.iter().any(|p| p.starts_with(key)),
                "{key} {problems:?}"
            );
        }
    }

    const TARGET: &str =
        "source: { type: snapshot, path: d.yaml }\ntarget: { type: snapshot, path: r.yaml }\n";

    #[test]
    fn bad_conditions_and_templates_name_key_line_and_column() {
        for (pairing, words) in [
            (
                "  - where: 'department eq \"Service Desk\" and'\n    rescue_group: H\n    role: technician\n",
                [
                    "pairings[0]: where: condition",
                    "column 33: expected an attribute",
                    "line 4",
                ],
            ),
            (
                "  - entra_group: G\n    rescue_group: H\n    role: technician\n    attributes: { name: '{displayName} ({departmnt})' }\n",
                [
                    "attributes.name: template",
                    "column 17: unknown attribute `departmnt`",
                    "line 7",
                ],
            ),
        ] {
            let text = format!("{TARGET}pairings:\n{pairing}");
            let error = serde_yaml::from_str::<Config>(&text)
                .expect_err("refused")
                .to_string();
            for word in words {
                assert!(error.contains(word), "{word}: {error}");
            }
        }
        let text = format!(
            "{TARGET}sync:\n  attributes: {{ email: '{{mail}}' }}\npairings:\n  - {{ rescue_group: H, role: technician }}\n"
        );
        let config: Config = serde_yaml::from_str(&text).expect("parses");
        let problems: Vec<String> = config
            .validate()
            .expect_err("invalid")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("pairings[0]: selects nobody")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("sync.attributes.email: the e-mail is the identity key")),
            "{problems:?}"
        );
    }

    #[test]
    fn an_ldap_source_refuses_schema_extensions() {
        let text = format!(
            "source:\n{}target: {{ type: snapshot, path: r.yaml }}\npairings:\n  - {{ where: \"extension_0123456789abcdef0123456789abcdef_tier eq 'l2'\", rescue_group: H, role: technician }}\n",
            LDAP.lines()
                .map(|line| format!("  {line}\n"))
                .collect::<String>()
        );
        let config: Config = serde_yaml::from_str(&text).expect("parses");
        let problems = config.validate().expect_err("invalid");
        assert!(
            problems
                .iter()
                .any(|p| p.path == "source" && p.message.contains("schema extension of Entra ID")),
            "{problems:?}"
        );
    }

    #[test]
    fn attributes_take_a_list_or_a_map_and_keep_the_digest_of_a_list() {
        let list = format!(
            "{TARGET}pairings:\n  - {{ entra_group: G, rescue_group: H, role: technician, attributes: [name, ssoid] }}\n"
        );
        let map = format!(
            "{TARGET}pairings:\n  - {{ entra_group: G, rescue_group: H, role: technician, attributes: {{ name: null, ssoid: '{{employeeId}}' }} }}\n"
        );
        let list: Config = serde_yaml::from_str(&list).expect("a list");
        let map: Config = serde_yaml::from_str(&map).expect("a map");
        assert_eq!(
            list.pairings[0].attributes.fields,
            map.pairings[0].attributes.fields
        );
        assert_eq!(
            map.pairings[0]
                .attributes
                .templates
                .ssoid
                .as_ref()
                .map(Template::as_str),
            Some("{employeeId}")
        );
        let json = serde_json::to_value(&list.pairings[0]).expect("serializes");
        assert_eq!(json["attributes"], serde_json::json!(["name", "ssoid"]));
        let again: Config = serde_json::from_value(serde_json::to_value(&map).expect("serializes"))
            .expect("reads back");
        assert_eq!(again, map);
    }

    #[test]
    fn budget_parses_counts_and_percentages() {
        assert_eq!(Budget::parse("50"), Ok(Budget::Count(50)));
        assert_eq!(Budget::parse(" 10% "), Ok(Budget::Percent(10)));
        assert!(Budget::parse("ten").is_err());
        assert!(Budget::parse("120%").is_err());
    }
}
