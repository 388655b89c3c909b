//! adsync-ldap: an on-premises Active Directory, read over LDAP, as an adsync [`Source`].
//!
//! [`LdapSource`] connects over LDAPS (or LDAP upgraded with StartTLS), verifies the server's
//! certificate against the system's roots or the configured CA file, binds with the service
//! account's password (simple bind), and reads each pairing's group:
//!
//! - groups are named by distinguished name, by `cn` or `sAMAccountName` (exact text, any
//!   case; several matches are an error naming them), or by `{ id: <objectGUID> }`;
//! - users and groups are keyed by their objectGUID in canonical form (MS-DTYP 2.3.4.2: the
//!   first three fields little-endian), so a rename or a move keeps the link; every value is
//!   read as bytes, so a GUID that happens to be valid UTF-8 is read like any other;
//! - `userAccountControl` bit 0x2 marks a disabled account;
//! - nested groups are expanded by the server with the in-chain rule
//!   (`1.2.840.113556.1.4.1941`) when its root DSE announces a Windows Server 2008 (or later)
//!   directory, else by walking `member` values with cycles cut; `member` is read in ranges
//!   (`member;range=0-1499`, ...) when the server answers so;
//! - users whose primary group is a paired (or nested) group (`primaryGroupID` = the group's
//!   RID) are members, although `member` never lists them;
//! - every subtree search is paged (RFC 2696; Active Directory caps a page at 1,000).
//!
//! Reads are all or nothing (SPEC §6): a size-limit result (rc 4), a referral to another
//! server, a member that cannot be read, a timeout or a dropped connection fails the whole
//! snapshot with an error naming the search. Nothing is retried: the next run reads again.
//!
//! Deliberately absent: writes of any kind, referral chasing, SASL binds (Kerberos, NTLM),
//! change tracking (DirSync, uSNChanged), any way to turn certificate checks off, and reading
//! files (the CLI hands over the CA certificates and the password).

mod ad;
mod connection;
mod error;
mod filter;
mod groups;
mod members;
mod users;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use adsync_core::adapter::{
    AdapterError, NoProgress, ReadProgress, ReadStep, Source, SourceRequest,
};
use adsync_core::condition::Condition;
use adsync_core::config::{GroupRef, InChain, LdapSourceConfig};
use adsync_core::model::{DirectoryGroup, DirectorySnapshot, DirectoryUser};
use adsync_core::secret::Secret;
use async_trait::async_trait;

use crate::connection::{Connection, Search};
use crate::members::Plan;
use crate::users::GroupEntry;

pub use crate::error::Error;
pub use crate::filter::ldap_filter;

/// Everything [`LdapSource::new`] needs.
#[derive(Clone, Debug)]
pub struct LdapSettings {
    /// `ldaps://host:636`, or `ldap://host:389` with `starttls`.
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS before binding.
    pub starttls: bool,
    /// PEM certificates of the authorities to trust instead of the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// The account adsync binds as.
    pub bind_dn: String,
    /// Its password.
    pub password: Secret,
    /// Where users and groups are searched.
    pub base_dn: String,
    /// How nested groups are expanded.
    pub in_chain: InChain,
    /// Entries per page.
    pub page_size: u32,
    /// The time one operation (and the connection) may take.
    pub timeout: Duration,
    /// Operations in flight at once.
    pub concurrency: usize,
}

impl LdapSettings {
    /// The settings a `source: { type: ldap }` configuration describes, with the password and
    /// the CA file's content the caller read.
    pub fn from_config(
        config: &LdapSourceConfig,
        password: Secret,
        ca_pem: Option<Vec<u8>>,
    ) -> LdapSettings {
        LdapSettings {
            url: config.url.trim().to_owned(),
            starttls: config.starttls,
            ca_pem,
            bind_dn: config.bind_dn.trim().to_owned(),
            password,
            base_dn: config.base_dn.trim().to_owned(),
            in_chain: config.in_chain,
            page_size: config.page_size.max(1),
            timeout: Duration::from_secs(config.timeout_s.max(1)),
            concurrency: config.concurrency.max(1),
        }
    }
}

/// A group as lookups and searches return it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupSummary {
    /// objectGUID, canonical.
    pub id: String,
    /// `cn`.
    pub name: String,
    /// Distinguished name.
    pub dn: String,
}

/// One group with its users, as `adsync groups members` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMembers {
    /// The group.
    pub group: GroupSummary,
    /// Its users (transitive when nested groups are on, primary-group members included),
    /// sorted by id.
    pub users: Vec<DirectoryUser>,
    /// The ids of the groups nested in it at any depth, sorted (empty when nesting is off).
    pub member_groups: Vec<String>,
}

/// Active Directory over LDAP as a [`Source`]. Each read opens its own connection.
#[derive(Debug)]
pub struct LdapSource {
    settings: LdapSettings,
    tls: Arc<rustls::ClientConfig>,
}

impl LdapSource {
    /// Checks the settings and builds the TLS configuration. Nothing is sent.
    ///
    /// Refuses an empty password, a url that is neither `ldaps://` nor `ldap://`, cleartext
    /// `ldap://` without StartTLS to a host that is not loopback, and a CA file without a
    /// certificate.
    pub fn new(settings: LdapSettings) -> Result<LdapSource, Error> {
        if settings.password.expose().is_empty() {
            return Err(Error::EmptyPassword);
        }
        connection::check_url(&settings.url, settings.starttls)?;
        let tls = connection::tls_config(settings.ca_pem.as_deref())?;
        Ok(LdapSource { settings, tls })
    }

    async fn connect(&self) -> Result<Connection, Error> {
        Connection::open(&self.settings, self.tls.clone()).await
    }

    /// Connects and binds, for `adsync validate --online`; returns whether nested groups
    /// would be expanded with the in-chain rule.
    pub async fn check_bind(&self) -> Result<bool, Error> {
        let conn = self.connect().await?;
        let in_chain = self.uses_in_chain(&conn).await;
        conn.close().await;
        Ok(in_chain)
    }

    /// Finds one group by objectGUID, DN, `cn` or `sAMAccountName`.
    pub async fn resolve_group(&self, group: &GroupRef) -> Result<GroupSummary, Error> {
        let conn = self.connect().await?;
        let found = groups::resolve(&conn, &self.settings.base_dn, group).await;
        conn.close().await;
        Ok(found?.summary())
    }

    /// Groups whose `cn`, `sAMAccountName` or description contains `term`, sorted by name.
    pub async fn search_groups(&self, term: &str) -> Result<Vec<GroupSummary>, Error> {
        let conn = self.connect().await?;
        let found = groups::search(&conn, &self.settings.base_dn, term).await;
        conn.close().await;
        Ok(found?.iter().map(GroupEntry::summary).collect())
    }

    /// One group and its users, for `adsync groups members`.
    pub async fn group_members(
        &self,
        group: &GroupRef,
        nested: bool,
    ) -> Result<GroupMembers, Error> {
        let conn = self.connect().await?;
        let read = async {
            let plan = self.plan(&conn, nested).await;
            let entry = groups::resolve(&conn, &self.settings.base_dn, group).await?;
            let expansion = members::expand(&conn, plan, &entry).await?;
            Ok(GroupMembers {
                group: entry.summary(),
                users: expansion.users,
                member_groups: expansion.member_groups,
            })
        }
        .await;
        conn.close().await;
        read
    }

    /// What [`Source::snapshot`] returns, with this crate's error type.
    ///
    /// Each group is listed under the name the request used (a DN, a `cn` or a
    /// `sAMAccountName`), or its `cn` when it was asked for by id, so that core finds it
    /// under the pairing's own words; its members are every user at any depth.
    pub async fn read(&self, request: &SourceRequest) -> Result<DirectorySnapshot, Error> {
        self.read_reporting(request, &NoProgress).await
    }

    /// [`LdapSource::read`], telling `progress` after each group how many of the requested
    /// groups have been read, the pages of subtree searches so far, and the users listed (a
    /// user in several groups counts once per group).
    pub async fn read_reporting(
        &self,
        request: &SourceRequest,
        progress: &dyn ReadProgress,
    ) -> Result<DirectorySnapshot, Error> {
        let conn = self.connect().await?;
        let read = self.read_on(&conn, request, progress).await;
        conn.close().await;
        read
    }

    async fn read_on(
        &self,
        conn: &Connection,
        request: &SourceRequest,
        progress: &dyn ReadProgress,
    ) -> Result<DirectorySnapshot, Error> {
        for attribute in &request.attributes {
            filter::ad_name(attribute).map_err(|reason| Error::Unsupported {
                what: attribute.clone(),
                reason,
            })?;
        }
        let plan = self.plan(conn, request.nested_groups).await;
        let mut listed = 0u64;
        let mut users: BTreeMap<String, DirectoryUser> = BTreeMap::new();
        let mut expanded: BTreeMap<String, members::Expansion> = BTreeMap::new();
        let mut groups = Vec::with_capacity(request.groups.len());
        for reference in &request.groups {
            let entry = groups::resolve(conn, &self.settings.base_dn, reference).await?;
            if !expanded.contains_key(&entry.id) {
                let expansion = members::expand(conn, plan, &entry).await?;
                expanded.insert(entry.id.clone(), expansion);
            }
            // Cannot panic: the expansion of this id was inserted just above if it was missing.
            let expansion = &expanded[&entry.id];
            for user in &expansion.users {
                users.entry(user.id.clone()).or_insert_with(|| user.clone());
            }
            groups.push(DirectoryGroup {
                id: entry.id.clone(),
                display_name: match reference {
                    GroupRef::Name(name) => name.trim().to_owned(),
                    GroupRef::Id { .. } => entry.name.clone(),
                },
                members: expansion.users.iter().map(|user| user.id.clone()).collect(),
                member_groups: expansion.member_groups.clone(),
            });
            listed += expansion.users.len() as u64;
            progress.report(ReadStep::Groups {
                done: groups.len() as u64,
                total: request.groups.len() as u64,
                pages: conn.pages(),
                users: listed,
            });
        }
        for condition in &request.selections {
            for user in self.selected(conn, condition).await? {
                users.entry(user.id.clone()).or_insert(user);
            }
        }
        Ok(DirectorySnapshot {
            users: users.into_values().collect(),
            groups,
        })
    }

    /// Every user `condition` selects, by a subtree search under the base DN with the
    /// condition as an LDAP filter; complete or an error, as every search is.
    async fn selected(
        &self,
        conn: &Connection,
        condition: &Condition,
    ) -> Result<Vec<DirectoryUser>, Error> {
        let filter = filter::ldap_filter(condition).map_err(|reason| Error::Unsupported {
            what: condition.to_string(),
            reason,
        })?;
        let search = Search {
            purpose: format!("the users where `{condition}`"),
            base: &self.settings.base_dn,
            scope: ldap3::Scope::Subtree,
            filter: format!("(&(objectClass=user)(!(objectClass=computer)){filter})"),
            attrs: users::member_attrs(),
        };
        let mut selected = Vec::new();
        for entry in conn.search(&search).await? {
            if matches!(users::kind(&entry), users::Kind::User) {
                selected.push(users::user(&entry)?.user);
            }
        }
        Ok(selected)
    }

    async fn plan(&self, conn: &Connection, nested: bool) -> Plan<'_> {
        let in_chain = nested && self.uses_in_chain(conn).await;
        Plan {
            base_dn: &self.settings.base_dn,
            nested,
            in_chain,
            concurrency: self.settings.concurrency,
        }
    }

    /// Whether nested groups are expanded with the in-chain rule: as configured, or, on
    /// `auto`, when the root DSE lists the Windows Server 2008 capability. A server that does
    /// not know the rule answers an in-chain search with nothing at all (RFC 4511 makes an
    /// unknown rule Undefined), so the rule is never tried blindly.
    async fn uses_in_chain(&self, conn: &Connection) -> bool {
        match self.settings.in_chain {
            InChain::Always => true,
            InChain::Never => false,
            InChain::Auto => {
                let attrs = ["supportedCapabilities".to_owned()];
                match conn.read("", &attrs, "the root DSE").await {
                    Ok(Ok(root)) => root
                        .values("supportedCapabilities")
                        .iter()
                        .any(|cap| cap.as_slice() == ad::CAP_AD_V61.as_bytes()),
                    Ok(Err(_)) | Err(_) => false,
                }
            }
        }
    }
}

impl GroupEntry {
    pub(crate) fn summary(&self) -> GroupSummary {
        GroupSummary {
            id: self.id.clone(),
            name: self.name.clone(),
            dn: self.dn.clone(),
        }
    }
}

#[async_trait]
impl Source for LdapSource {
    async fn snapshot(&self, request: &SourceRequest) -> Result<DirectorySnapshot, AdapterError> {
        self.read(request).await.map_err(AdapterError::from)
    }

    async fn snapshot_reporting(
        &self,
        request: &SourceRequest,
        progress: &dyn ReadProgress,
    ) -> Result<DirectorySnapshot, AdapterError> {
        self.read_reporting(request, progress)
            .await
            .map_err(AdapterError::from)
    }
}
