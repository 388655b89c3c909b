//! One bound LDAP connection: TLS set-up, the simple bind, paged searches and single-entry
//! reads, each failure named after the search it ended.
//!
//! Entries are read from the protocol structure directly, every value as bytes: ldap3's
//! `SearchEntry` sorts values into a text map and a binary map by whether they happen to be
//! valid UTF-8 (an objectGUID can be), and panics on a malformed entry.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ldap3::asn1::{StructureTag, parse_tag};
use ldap3::controls::{Control, ControlType, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, LdapResult, Scope, SearchResult};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::LdapSettings;
use crate::error::Error;

/// A search result entry: its DN and every attribute, names lower-cased, values as bytes.
#[derive(Clone, Debug, Default)]
pub(crate) struct Entry {
    pub(crate) dn: String,
    pub(crate) attrs: HashMap<String, Vec<Vec<u8>>>,
}

impl Entry {
    /// The values of `name` (any case).
    pub(crate) fn values(&self, name: &str) -> &[Vec<u8>] {
        self.attrs
            .get(&name.to_ascii_lowercase())
            .map_or(&[], Vec::as_slice)
    }

    /// The first value of `name` as text.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.values(name)
            .first()
            .map(|value| String::from_utf8_lossy(value).into_owned())
    }

    /// Whether `objectClass` holds `class` (any case).
    pub(crate) fn has_class(&self, class: &str) -> bool {
        self.values("objectClass")
            .iter()
            .any(|value| value.eq_ignore_ascii_case(class.as_bytes()))
    }
}

/// One search, and how messages name it.
pub(crate) struct Search<'a> {
    /// What the search is for (`the members of `SG-L2``).
    pub(crate) purpose: String,
    pub(crate) base: &'a str,
    pub(crate) scope: Scope,
    pub(crate) filter: String,
    pub(crate) attrs: Vec<String>,
}

impl Search<'_> {
    /// `the search for <purpose> (base `...`, filter `...`)`.
    pub(crate) fn describe(&self) -> String {
        format!(
            "the search for {} (base `{}`, filter `{}`)",
            self.purpose, self.base, self.filter
        )
    }
}

/// The rustls configuration: the CA file's certificates when one is given (and only those),
/// else the system's roots; certificate checks cannot be turned off.
pub(crate) fn tls_config(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, Error> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            let mut count = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|error| Error::CaFile {
                    reason: error.to_string(),
                })?;
                roots.add(cert).map_err(|error| Error::CaFile {
                    reason: error.to_string(),
                })?;
                count += 1;
            }
            if count == 0 {
                return Err(Error::CaFile {
                    reason: "no `BEGIN CERTIFICATE` block".into(),
                });
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::warn!("a system certificate could not be loaded: {error}");
            }
            roots.add_parsable_certificates(found.certs);
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(Error::Tls)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Checks `url`: ldap:// or ldaps://, a host, and cleartext only to loopback.
pub(crate) fn check_url(url: &str, starttls: bool) -> Result<(), Error> {
    let invalid = |reason: &str| Error::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = url::Url::parse(url.trim()).map_err(|error| invalid(&error.to_string()))?;
    let host = parsed
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| invalid("it names no host"))?;
    match parsed.scheme() {
        "ldaps" if starttls => Err(invalid(
            "ldaps:// is already encrypted; StartTLS applies to ldap:// only",
        )),
        "ldaps" => Ok(()),
        "ldap" if starttls || is_loopback(host) => Ok(()),
        "ldap" => Err(Error::Cleartext {
            url: url.to_owned(),
        }),
        _ => Err(invalid("expected ldaps:// or ldap://")),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A bound connection. Cloning shares it: operations on clones run at once over one socket.
#[derive(Clone)]
pub(crate) struct Connection {
    ldap: Ldap,
    timeout: Duration,
    page_size: u32,
    /// Pages of subtree searches answered so far, over every clone, for progress reports.
    pages: Arc<AtomicU64>,
}

impl Connection {
    /// Connects (TLS or StartTLS as configured) and binds.
    pub(crate) async fn open(
        settings: &LdapSettings,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Connection, Error> {
        let url = settings.url.trim();
        let conn_settings = LdapConnSettings::new()
            .set_conn_timeout(settings.timeout)
            .set_starttls(settings.starttls)
            .set_config(tls);
        let (conn, mut ldap) = LdapConnAsync::with_settings(conn_settings, url)
            .await
            .map_err(|error| connect_error(url, &error))?;
        tokio::spawn(async move {
            if let Err(error) = conn.drive().await {
                tracing::debug!("the ldap connection ended: {error}");
            }
        });
        let bound = ldap
            .with_timeout(settings.timeout)
            .simple_bind(&settings.bind_dn, settings.password.expose())
            .await;
        let operation = format!("the bind as `{}`", settings.bind_dn);
        let result = bound.map_err(|error| transport_error(&operation, settings.timeout, error))?;
        if result.rc != 0 {
            return Err(Error::Bind {
                bind_dn: settings.bind_dn.clone(),
                rc: result.rc,
                text: result.text,
            });
        }
        Ok(Connection {
            ldap,
            timeout: settings.timeout,
            page_size: settings.page_size,
            pages: Arc::new(AtomicU64::new(0)),
        })
    }

    /// How many pages of subtree searches have been answered on this connection.
    pub(crate) fn pages(&self) -> u64 {
        self.pages.load(Ordering::Relaxed)
    }

    /// Ends the session politely; a failure here changes nothing already read.
    pub(crate) async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }

    /// Every entry a search finds, page by page (RFC 2696), or the reason it is incomplete.
    ///
    /// A continuation reference to a naming context that holds no users or groups (Active
    /// Directory's DNS application partitions and its Configuration partition, which a search
    /// from the domain root always mentions) is skipped; any other reference fails the search.
    pub(crate) async fn search(&self, search: &Search<'_>) -> Result<Vec<Entry>, Error> {
        let mut entries = Vec::new();
        let mut cookie: Vec<u8> = Vec::new();
        loop {
            let control = PagedResults {
                size: i32::try_from(self.page_size).unwrap_or(i32::MAX),
                cookie: cookie.clone(),
            };
            let mut ldap = self.ldap.clone();
            let answer = ldap
                .with_timeout(self.timeout)
                .with_controls(control)
                .search(search.base, search.scope, &search.filter, &search.attrs)
                .await;
            let SearchResult(items, result) =
                answer.map_err(|error| transport_error(&search.describe(), self.timeout, error))?;
            self.pages.fetch_add(1, Ordering::Relaxed);
            collect(search, items, &mut entries)?;
            check_result(search, &result)?;
            let next = paged_cookie(search, &result)?;
            if next.is_empty() {
                return Ok(entries);
            }
            if next == cookie {
                return Err(Error::Malformed {
                    search: search.describe(),
                    reason: "the server sent the same paging cookie twice".into(),
                });
            }
            cookie = next;
        }
    }

    /// One entry by DN (a base search, which no size limit can cut), with the result code
    /// when the server refuses it.
    pub(crate) async fn read(
        &self,
        dn: &str,
        attrs: &[String],
        purpose: &str,
    ) -> Result<Result<Entry, LdapResult>, Error> {
        let search = Search {
            purpose: purpose.to_owned(),
            base: dn,
            scope: Scope::Base,
            filter: "(objectClass=*)".into(),
            attrs: attrs.to_vec(),
        };
        let mut ldap = self.ldap.clone();
        let answer = ldap
            .with_timeout(self.timeout)
            .search(dn, Scope::Base, &search.filter, attrs)
            .await;
        let SearchResult(items, result) =
            answer.map_err(|error| transport_error(&search.describe(), self.timeout, error))?;
        if result.rc != 0 {
            return Ok(Err(result));
        }
        let mut entries = Vec::new();
        collect(&search, items, &mut entries)?;
        match entries.pop() {
            Some(entry) if entries.is_empty() => Ok(Ok(entry)),
            found => Err(Error::Malformed {
                search: search.describe(),
                reason: format!(
                    "a base search returned {} entries",
                    entries.len() + usize::from(found.is_some())
                ),
            }),
        }
    }
}

/// Sorts a page's items into entries, refusing references to anything that may hold users.
fn collect(
    search: &Search<'_>,
    items: Vec<ldap3::ResultEntry>,
    entries: &mut Vec<Entry>,
) -> Result<(), Error> {
    let malformed = |reason: &str| Error::Malformed {
        search: search.describe(),
        reason: reason.to_owned(),
    };
    for item in items {
        if item.is_intermediate() {
            continue;
        }
        if item.is_ref() {
            let refs =
                reference_urls(item.0).ok_or_else(|| malformed("an unreadable reference"))?;
            refuse_references(search, refs)?;
            continue;
        }
        entries.push(parse_entry(item.0).ok_or_else(|| malformed("an unreadable entry"))?);
    }
    Ok(())
}

/// Fails on continuation references to anything that may hold users or groups.
fn refuse_references(search: &Search<'_>, refs: Vec<String>) -> Result<(), Error> {
    let followed: Vec<String> = refs
        .into_iter()
        .filter(|url| !holds_no_principals(url))
        .collect();
    if followed.is_empty() {
        return Ok(());
    }
    Err(Error::Referral {
        search: search.describe(),
        refs: followed,
    })
}

/// The result code of a finished search, as this crate's error.
///
/// ldap3 gathers the continuation references of a search into the result's `refs`, beside
/// result code 0; those are checked like references met among the entries.
fn check_result(search: &Search<'_>, result: &LdapResult) -> Result<(), Error> {
    match result.rc {
        0 => refuse_references(search, result.refs.clone()),
        4 => Err(Error::SizeLimit {
            search: search.describe(),
        }),
        10 => Err(Error::Referral {
            search: search.describe(),
            refs: if result.refs.is_empty() {
                vec!["no url given".to_owned()]
            } else {
                result.refs.clone()
            },
        }),
        rc => Err(Error::SearchFailed {
            search: search.describe(),
            rc,
            text: result.text.clone(),
        }),
    }
}

/// The cookie of the paged-results control in `result`; empty when the search is complete
/// (or the server ignored paging, in which case the result code tells whether it is whole).
///
/// `realSearchControlValue ::= SEQUENCE { size INTEGER, cookie OCTET STRING }` (RFC 2696),
/// read here without ldap3's parser, which panics on a malformed value.
fn paged_cookie(search: &Search<'_>, result: &LdapResult) -> Result<Vec<u8>, Error> {
    let Some(raw) = result.ctrls.iter().find_map(|control| match control {
        Control(Some(ControlType::PagedResults), raw) => Some(raw),
        _ => None,
    }) else {
        return Ok(Vec::new());
    };
    raw.val
        .as_deref()
        .and_then(|value| parse_tag(value).ok())
        .and_then(|(_, tag)| tag.expect_constructed())
        .and_then(|parts| parts.into_iter().nth(1))
        .and_then(StructureTag::expect_primitive)
        .ok_or_else(|| Error::Malformed {
            search: search.describe(),
            reason: "an unreadable paged-results control".into(),
        })
}

/// `SearchResultEntry ::= [APPLICATION 4] SEQUENCE { objectName, attributes SEQUENCE OF
/// PartialAttribute { type, vals SET OF value } }` (RFC 4511 4.5.2); `None` when it is not.
fn parse_entry(tag: StructureTag) -> Option<Entry> {
    let mut parts = tag.match_id(4)?.expect_constructed()?.into_iter();
    let dn = String::from_utf8(parts.next()?.expect_primitive()?).ok()?;
    let mut attrs: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    for attribute in parts.next()?.expect_constructed()? {
        let mut pieces = attribute.expect_constructed()?.into_iter();
        let name = String::from_utf8(pieces.next()?.expect_primitive()?).ok()?;
        let values = pieces
            .next()?
            .expect_constructed()?
            .into_iter()
            .map(StructureTag::expect_primitive)
            .collect::<Option<Vec<Vec<u8>>>>()?;
        attrs
            .entry(name.to_ascii_lowercase())
            .or_default()
            .extend(values);
    }
    Some(Entry { dn, attrs })
}

/// `SearchResultReference ::= [APPLICATION 19] SEQUENCE SIZE (1..MAX) OF uri`.
fn reference_urls(tag: StructureTag) -> Option<Vec<String>> {
    tag.match_id(19)?
        .expect_constructed()?
        .into_iter()
        .map(|uri| String::from_utf8(uri.expect_primitive()?).ok())
        .collect()
}

/// Whether a reference points at a naming context that cannot hold users or groups: Active
/// Directory's `DomainDnsZones` and `ForestDnsZones` application partitions and its
/// `Configuration` partition (and the Schema below it).
fn holds_no_principals(url: &str) -> bool {
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map_or("", |(_, path)| path);
    let path = path.split('?').next().unwrap_or_default();
    let dn = percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .to_ascii_lowercase();
    let first = dn.split(',').next().unwrap_or_default().replace(' ', "");
    matches!(
        first.as_str(),
        "dc=domaindnszones" | "dc=forestdnszones" | "cn=configuration" | "cn=schema"
    )
}

/// A connection that could not be made, with the TLS failure spelled out.
fn connect_error(url: &str, error: &LdapError) -> Error {
    let reason = match error {
        LdapError::Io { source } => source.to_string(),
        LdapError::Timeout { .. } => "the connection timed out".to_owned(),
        other => other.to_string(),
    };
    let certificate = reason.contains("certificate") || reason.contains("CertificateUnknown");
    Error::Connect {
        url: url.to_owned(),
        reason,
        certificate,
    }
}

/// A failed operation that ended without a result code: a timeout or a broken connection.
fn transport_error(operation: &str, timeout: Duration, error: LdapError) -> Error {
    match error {
        LdapError::Timeout { .. } => Error::Timeout {
            search: operation.to_owned(),
            seconds: timeout.as_secs().max(1),
        },
        LdapError::LdapResult { result } if result.rc == 4 => Error::SizeLimit {
            search: operation.to_owned(),
        },
        LdapError::LdapResult { result } => Error::SearchFailed {
            search: operation.to_owned(),
            rc: result.rc,
            text: result.text,
        },
        other => Error::Dropped {
            search: operation.to_owned(),
            source: Box::new(other),
        },
    }
}

#[cfg(test)]
mod tests {
    use ldap3::controls::RawControl;

    use super::*;

    #[test]
    fn cleartext_is_for_loopback_only() {
        assert!(check_url("ldaps://dc1.corp.example:636", false).is_ok());
        assert!(check_url("ldap://dc1.corp.example", true).is_ok());
        assert!(check_url("ldap://127.0.0.1:3890", false).is_ok());
        assert!(check_url("ldap://[::1]:3890", false).is_ok());
        assert!(check_url("ldap://localhost", false).is_ok());
        assert!(matches!(
            check_url("ldap://dc1.corp.example", false),
            Err(Error::Cleartext { .. })
        ));
        assert!(matches!(
            check_url("ldaps://dc1.corp.example", true),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            check_url("https://dc1.corp.example", false),
            Err(Error::InvalidUrl { .. })
        ));
    }

    #[test]
    fn only_references_to_partitions_without_principals_are_skipped() {
        assert!(holds_no_principals(
            "ldap://DomainDnsZones.corp.example/DC=DomainDnsZones,DC=corp,DC=example"
        ));
        assert!(holds_no_principals(
            "ldap://corp.example/CN=Configuration,DC=corp,DC=example"
        ));
        assert!(holds_no_principals(
            "ldap://ForestDnsZones.corp.example/DC%3DForestDnsZones%2CDC%3Dcorp%2CDC%3Dexample"
        ));
        assert!(!holds_no_principals(
            "ldap://child.corp.example/DC=child,DC=corp,DC=example"
        ));
        assert!(!holds_no_principals("ldap://dc2.corp.example/"));
    }

    fn result_with(control: RawControl) -> LdapResult {
        LdapResult {
            rc: 0,
            matched: String::new(),
            text: String::new(),
            refs: Vec::new(),
            ctrls: vec![Control(Some(ControlType::PagedResults), control)],
        }
    }

    #[test]
    fn paging_cookies_are_read_and_malformed_ones_refused() {
        let search = Search {
            purpose: "users".into(),
            base: "dc=corp",
            scope: Scope::Subtree,
            filter: "(objectClass=user)".into(),
            attrs: Vec::new(),
        };
        let control: RawControl = PagedResults {
            size: 0,
            cookie: b"next".to_vec(),
        }
        .into();
        assert_eq!(
            paged_cookie(&search, &result_with(control)).expect("read"),
            b"next"
        );
        let garbage = RawControl {
            ctype: "1.2.840.113556.1.4.319".into(),
            crit: false,
            val: Some(vec![0x30, 0x05, 0x02]),
        };
        let error = paged_cookie(&search, &result_with(garbage)).expect_err("malformed");
        assert!(error.to_string().contains("(objectClass=user)"), "{error}");
    }

    proptest::proptest! {
        /// Whatever bytes a server sends as an entry, a reference or a paging control, the
        /// readers answer `None` or an error, never a panic.
        #[test]
        fn hostile_structures_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            if let Ok((_, tag)) = parse_tag(&bytes) {
                let _ = parse_entry(tag.clone());
                let _ = reference_urls(tag);
            }
            let search = Search {
                purpose: "anything".into(),
                base: "",
                scope: Scope::Base,
                filter: String::new(),
                attrs: Vec::new(),
            };
            let control = RawControl {
                ctype: "1.2.840.113556.1.4.319".into(),
                crit: false,
                val: Some(bytes),
            };
            let _ = paged_cookie(&search, &result_with(control));
        }
    }

    /// A well-formed entry reads with every value as bytes, names lower-cased.
    #[test]
    fn entries_are_read_as_bytes() {
        use ldap3::asn1::{ASNTag, OctetString, Sequence, Set, Tag};
        let octets = |bytes: &[u8]| {
            Tag::OctetString(OctetString {
                inner: bytes.to_vec(),
                ..Default::default()
            })
        };
        let entry = Tag::Sequence(Sequence {
            id: 4,
            class: ldap3::asn1::TagClass::Application,
            inner: vec![
                octets(b"cn=x,dc=corp"),
                Tag::Sequence(Sequence {
                    inner: vec![Tag::Sequence(Sequence {
                        inner: vec![
                            octets(b"objectGUID"),
                            Tag::Set(Set {
                                inner: vec![octets(&[0xff, 0x00, 0x41])],
                                ..Default::default()
                            }),
                        ],
                        ..Default::default()
                    })],
                    ..Default::default()
                }),
            ],
        })
        .into_structure();
        let read = parse_entry(entry).expect("an entry");
        assert_eq!(read.dn, "cn=x,dc=corp");
        assert_eq!(read.values("OBJECTGUID"), [vec![0xff, 0x00, 0x41]]);
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        assert!(matches!(
            tls_config(Some(b"not a certificate")),
            Err(Error::CaFile { .. })
        ));
    }
}
