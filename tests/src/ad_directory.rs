//! An Active Directory-shaped test directory: users and groups with binary objectGUIDs and
//! objectSids, `userAccountControl`, `primaryGroupID` and `member` DNs. One description serves
//! both test servers: [`crate::slapd`] loads it as LDIF (Debian's `msuser` schema), and
//! [`crate::ad_responder`] answers from it as a domain controller does.

use std::fmt::Write as _;

use base64::Engine as _;

/// The domain of every test directory.
pub const BASE_DN: &str = "dc=corp,dc=example";
/// The domain SID's sub-authorities after `S-1-5-21`.
const DOMAIN_SUBS: [u32; 3] = [1_004_336_348, 1_177_238_915, 682_003_330];

/// A user entry.
#[derive(Clone, Debug)]
pub struct AdUser {
    /// Its distinguished name.
    pub dn: String,
    /// objectGUID, 16 bytes in wire order.
    pub guid: [u8; 16],
    /// Its RID (the last part of its objectSid).
    pub rid: u32,
    /// sAMAccountName.
    pub sam: String,
    /// userPrincipalName.
    pub upn: String,
    /// mail.
    pub mail: Option<String>,
    /// displayName.
    pub display_name: String,
    /// givenName.
    pub given_name: String,
    /// sn.
    pub surname: String,
    /// title.
    pub title: Option<String>,
    /// userAccountControl.
    pub uac: u32,
    /// primaryGroupID (Domain Users, 513, unless changed).
    pub primary_group: u32,
}

/// A group entry.
#[derive(Clone, Debug)]
pub struct AdGroup {
    /// Its distinguished name.
    pub dn: String,
    /// objectGUID, 16 bytes in wire order.
    pub guid: [u8; 16],
    /// Its RID.
    pub rid: u32,
    /// cn.
    pub cn: String,
    /// sAMAccountName.
    pub sam: String,
    /// member: user and group DNs.
    pub members: Vec<String>,
}

/// Users and groups under [`BASE_DN`].
#[derive(Clone, Debug, Default)]
pub struct AdDirectory {
    /// Users.
    pub users: Vec<AdUser>,
    /// Groups.
    pub groups: Vec<AdGroup>,
}

/// A GUID whose bytes are derived from `seed`; with `utf8` every byte is below 0x80 (so the
/// whole value is valid UTF-8, as an LDAP client may then take it for text), else the first
/// byte is 0xff (never valid UTF-8).
pub fn guid(seed: u32, utf8: bool) -> [u8; 16] {
    let mut bytes = [0_u8; 16];
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    for byte in &mut bytes {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        *byte = (state & 0x7f) as u8;
    }
    if !utf8 {
        bytes[0] = 0xff;
    }
    bytes
}

/// The canonical text of a wire-order GUID (first three fields little-endian).
pub fn guid_text(bytes: [u8; 16]) -> String {
    uuid::Uuid::from_bytes_le(bytes).hyphenated().to_string()
}

/// The binary objectSid `S-1-5-21-<domain>-<rid>`.
pub fn sid(rid: u32) -> Vec<u8> {
    let mut raw = vec![1, 5, 0, 0, 0, 0, 0, 5];
    for sub in [21].into_iter().chain(DOMAIN_SUBS).chain([rid]) {
        raw.extend_from_slice(&sub.to_le_bytes());
    }
    raw
}

impl AdUser {
    /// An enabled user `cn=<name>,ou=People,...` with every attribute derived from `name`.
    pub fn new(name: &str, seed: u32) -> AdUser {
        AdUser {
            dn: format!("cn={name},ou=People,{BASE_DN}"),
            guid: guid(seed, seed.is_multiple_of(2)),
            rid: 1000 + seed,
            sam: name.to_owned(),
            upn: format!("{name}@corp.example"),
            mail: Some(format!("{name}@corp.example")),
            display_name: display(name),
            given_name: name.split('.').next().map(display).unwrap_or_default(),
            surname: name.split('.').nth(1).map(display).unwrap_or_default(),
            title: Some("Support engineer".to_owned()),
            uac: 512,
            primary_group: 513,
        }
    }
}

fn display(name: &str) -> String {
    name.split('.')
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl AdGroup {
    /// A group `cn=<name>,ou=Groups,...` with `members` (DNs).
    pub fn new(name: &str, seed: u32, members: Vec<String>) -> AdGroup {
        AdGroup {
            dn: format!("cn={name},ou=Groups,{BASE_DN}"),
            guid: guid(seed.wrapping_add(100_000), !seed.is_multiple_of(2)),
            rid: 5000 + seed,
            cn: name.to_owned(),
            sam: name.to_owned(),
            members,
        }
    }
}

impl AdDirectory {
    /// The user with this sAMAccountName.
    pub fn user(&self, sam: &str) -> &AdUser {
        self.users
            .iter()
            .find(|user| user.sam == sam)
            .unwrap_or_else(|| panic!("no test user {sam}"))
    }

    /// The group with this cn.
    pub fn group(&self, cn: &str) -> &AdGroup {
        self.groups
            .iter()
            .find(|group| group.cn == cn)
            .unwrap_or_else(|| panic!("no test group {cn}"))
    }

    /// The directory as LDIF for `slapadd`: the domain, `ou=People`, `ou=Groups`,
    /// `ou=Service`, then every user and group (AD's mandatory `mstop` attributes filled in,
    /// `extensibleObject` for the attributes no `msuser` class allows).
    pub fn to_ldif(&self, service: (&str, &str)) -> String {
        let mut out = format!(
            "dn: {BASE_DN}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\n\
             o: corp\ndc: corp\n\n"
        );
        for ou in ["People", "Groups", "Service"] {
            let _ = write!(
                out,
                "dn: ou={ou},{BASE_DN}\nobjectClass: organizationalUnit\nou: {ou}\n\n"
            );
        }
        let (service_dn, service_password) = service;
        let _ = write!(
            out,
            "dn: {service_dn}\nobjectClass: person\nobjectClass: extensibleObject\ncn: svc-adsync\n\
             sn: service\nuserPassword: {service_password}\n\n"
        );
        for user in &self.users {
            out.push_str(&user_ldif(user));
        }
        for group in &self.groups {
            out.push_str(&group_ldif(group));
        }
        out
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The attributes every `mstop` entry must have.
fn mstop(out: &mut String, category: &str) {
    let _ = write!(
        out,
        "instanceType: 4\nnTSecurityDescriptor:: AQ==\nobjectCategory: cn={category},cn=Schema,cn=Configuration,{BASE_DN}\n"
    );
}

fn user_ldif(user: &AdUser) -> String {
    let cn = user
        .dn
        .split(',')
        .next()
        .unwrap_or_default()
        .trim_start_matches("cn=");
    let mut out = format!(
        "dn: {}\nobjectClass: top\nobjectClass: user\nobjectClass: extensibleObject\ncn: {cn}\n",
        user.dn
    );
    mstop(&mut out, "Person");
    let _ = write!(
        out,
        "objectGUID:: {}\nobjectSid:: {}\nsAMAccountName: {}\nuserPrincipalName: {}\n\
         displayName: {}\ngivenName: {}\nsn: {}\nuserAccountControl: {}\nprimaryGroupID: {}\n",
        b64(&user.guid),
        b64(&sid(user.rid)),
        user.sam,
        user.upn,
        user.display_name,
        user.given_name,
        user.surname,
        user.uac,
        user.primary_group,
    );
    if let Some(mail) = &user.mail {
        let _ = writeln!(out, "mail: {mail}");
    }
    if let Some(title) = &user.title {
        let _ = writeln!(out, "title: {title}");
    }
    out.push('\n');
    out
}

fn group_ldif(group: &AdGroup) -> String {
    let mut out = format!(
        "dn: {}\nobjectClass: top\nobjectClass: group\nobjectClass: extensibleObject\ncn: {}\n",
        group.dn, group.cn
    );
    mstop(&mut out, "Group");
    let _ = write!(
        out,
        "objectGUID:: {}\nobjectSid:: {}\nsAMAccountName: {}\ngroupType: -2147483646\n",
        b64(&group.guid),
        b64(&sid(group.rid)),
        group.sam,
    );
    for member in &group.members {
        let _ = writeln!(out, "member: {member}");
    }
    out.push('\n');
    out
}
