//! adsync-ldap against real directory servers on loopback: OpenLDAP's slapd (`slapd.rs`) and
//! the scripted Active Directory responder (`responder.rs`), both from `adsync-tests`.

mod responder;
mod slapd;

use std::time::Duration;

use adsync_core::adapter::SourceRequest;
use adsync_core::config::{GroupRef, InChain};
use adsync_core::model::DirectorySnapshot;
use adsync_core::secret::Secret;
use adsync_ldap::{Error, LdapSettings, LdapSource};
use adsync_tests::ad_directory::BASE_DN;
use adsync_tests::slapd::{SERVICE_DN, SERVICE_PASSWORD};

/// Settings for the service account on `url`.
pub(crate) fn settings(url: &str) -> LdapSettings {
    LdapSettings {
        url: url.to_owned(),
        starttls: false,
        ca_pem: None,
        bind_dn: SERVICE_DN.to_owned(),
        password: Secret::new(SERVICE_PASSWORD),
        base_dn: BASE_DN.to_owned(),
        in_chain: InChain::Auto,
        page_size: 1000,
        timeout: Duration::from_secs(20),
        concurrency: 8,
    }
}

/// Reads `groups` (names) with nested groups on.
pub(crate) async fn read(
    settings: LdapSettings,
    groups: &[&str],
) -> Result<DirectorySnapshot, Error> {
    let source = LdapSource::new(settings).expect("valid settings");
    source
        .read(&SourceRequest {
            groups: groups
                .iter()
                .map(|name| GroupRef::Name((*name).to_owned()))
                .collect(),
            nested_groups: true,
            ..Default::default()
        })
        .await
}

/// The sorted ids of a snapshot group's members.
pub(crate) fn member_ids(snapshot: &DirectorySnapshot, group: &str) -> Vec<String> {
    let group = snapshot
        .groups
        .iter()
        .find(|g| g.display_name == group)
        .unwrap_or_else(|| panic!("{group} is in the snapshot"));
    let mut ids = group.members.clone();
    ids.sort();
    ids
}

#[test]
fn an_empty_password_is_refused_before_anything_is_sent() {
    let mut settings = settings("ldaps://dc1.corp.example");
    settings.password = Secret::new("");
    let error = LdapSource::new(settings).expect_err("refused");
    assert!(matches!(error, Error::EmptyPassword), "{error}");
    assert!(error.to_string().contains("anonymous"), "{error}");
}

#[test]
fn cleartext_to_a_remote_host_is_refused() {
    let error = LdapSource::new(settings("ldap://dc1.corp.example")).expect_err("refused");
    assert!(matches!(error, Error::Cleartext { .. }), "{error}");
}

#[test]
fn the_password_never_shows_in_debug() {
    let source = LdapSource::new(settings("ldaps://dc1.corp.example")).expect("valid");
    let shown = format!("{source:?}");
    assert!(!shown.contains(SERVICE_PASSWORD), "{shown}");
    assert!(shown.contains("[REDACTED]"), "{shown}");
}
