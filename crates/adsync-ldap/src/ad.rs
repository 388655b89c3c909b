//! Active Directory's value formats (MS-DTYP, MS-ADTS): objectGUID, objectSid,
//! userAccountControl, ranged attribute names, and the filter syntax for binary values.

use std::fmt::Write as _;

/// `ADS_UF_ACCOUNTDISABLE` (MS-DRSR, userAccountControl bits): the account is disabled.
pub(crate) const ACCOUNT_DISABLE: i64 = 0x2;

/// `LDAP_MATCHING_RULE_TRANSITIVE_EVAL` (MS-ADTS 3.1.1.3.4.4.3): the in-chain rule.
pub(crate) const IN_CHAIN_RULE: &str = "1.2.840.113556.1.4.1941";

/// `LDAP_CAP_ACTIVE_DIRECTORY_V61_OID`: a Windows Server 2008 (or later) domain controller,
/// which evaluates the in-chain rule.
pub(crate) const CAP_AD_V61: &str = "1.2.840.113556.1.4.1935";

/// The canonical text of a 16-byte objectGUID: the GUID packet representation (MS-DTYP
/// 2.3.4.2), whose first three fields are little-endian, as `xxxxxxxx-xxxx-...` in lower case.
pub(crate) fn guid_text(raw: &[u8]) -> Result<String, String> {
    let bytes: [u8; 16] = raw
        .try_into()
        .map_err(|_| format!("{} bytes where a GUID has 16", raw.len()))?;
    Ok(uuid::Uuid::from_bytes_le(bytes).hyphenated().to_string())
}

/// The wire bytes of a canonical GUID text, for a filter; `None` when it is not one.
pub(crate) fn guid_bytes(text: &str) -> Option<[u8; 16]> {
    let parsed = uuid::Uuid::try_parse(text.trim()).ok()?;
    Some(parsed.to_bytes_le())
}

/// `\xx` for every byte: how a binary value is written in a filter (RFC 4515, ADSI's
/// `ADsEncodeBinaryData`).
pub(crate) fn filter_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for byte in bytes {
        let _ = write!(out, "\\{byte:02x}");
    }
    out
}

/// A security identifier (MS-DTYP 2.4.2.2), split into its domain and its relative id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Sid {
    /// `S-1-5-21-a-b-c`: every part but the last sub-authority.
    pub(crate) domain: String,
    /// The last sub-authority: a group's RID is what its members' `primaryGroupID` holds.
    pub(crate) rid: u32,
}

impl Sid {
    /// Parses the binary form: revision, sub-authority count, a 6-byte big-endian authority,
    /// then the sub-authorities, 4 little-endian bytes each.
    pub(crate) fn parse(raw: &[u8]) -> Option<Sid> {
        let (&revision, rest) = raw.split_first()?;
        let (&count, rest) = rest.split_first()?;
        let count = usize::from(count);
        if count == 0 || rest.len() != 6 + 4 * count {
            return None;
        }
        let (authority, subs) = rest.split_at(6);
        let authority = authority
            .iter()
            .fold(0_u64, |acc, byte| (acc << 8) | u64::from(*byte));
        let subs: Vec<u32> = subs
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let (&rid, domain_subs) = subs.split_last()?;
        let mut domain = format!("S-{revision}-{authority}");
        for sub in domain_subs {
            let _ = write!(domain, "-{sub}");
        }
        Some(Sid { domain, rid })
    }
}

/// Whether a `userAccountControl` value marks the account disabled. The attribute is a 32-bit
/// integer, which some servers write as a negative number.
pub(crate) fn is_disabled(user_account_control: &str) -> Option<bool> {
    let value: i64 = user_account_control.trim().parse().ok()?;
    Some(value & ACCOUNT_DISABLE != 0)
}

/// A ranged attribute name `member;range=1500-2999` (or `...-*`): the low bound and the high
/// bound, `None` for `*` (the last chunk).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) low: usize,
    pub(crate) high: Option<usize>,
}

impl Range {
    /// Parses the options of `name` when it is `attribute;range=low-high`, in any case.
    pub(crate) fn of(name: &str, attribute: &str) -> Option<Result<Range, String>> {
        let lower = name.to_ascii_lowercase();
        let options = lower.strip_prefix(attribute)?.strip_prefix(';')?;
        let bounds = options
            .split(';')
            .find_map(|option| option.strip_prefix("range="))?;
        Some(Range::parse(bounds).ok_or_else(|| format!("`{name}` is not a valid range")))
    }

    fn parse(bounds: &str) -> Option<Range> {
        let (low, high) = bounds.split_once('-')?;
        let low = low.parse().ok()?;
        let high = match high {
            "*" => None,
            number => Some(number.parse().ok().filter(|high| *high >= low)?),
        };
        Some(Range { low, high })
    }
}

/// Whether a group name given in the configuration is a distinguished name rather than a
/// `cn` or `sAMAccountName`: `type=value`, where type is an attribute name or an OID. Neither
/// a `cn` nor a `sAMAccountName` can contain `=` before a `,` in practice (AD refuses
/// `"/\[]:;|=,+*?<>` in sAMAccountName).
pub(crate) fn looks_like_dn(name: &str) -> bool {
    let Some((kind, _)) = name.trim().split_once('=') else {
        return false;
    };
    let kind = kind.trim();
    !kind.is_empty()
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// The value of a DN's first RDN (`SG-L2` of `CN=SG-L2,OU=Groups,...`), unescaped loosely:
/// a display fallback, never a key.
pub(crate) fn first_rdn_value(dn: &str) -> String {
    let mut value = String::new();
    let mut escaped = false;
    let mut started = false;
    for c in dn.chars() {
        if !started {
            started = c == '=';
            continue;
        }
        match c {
            _ if escaped => {
                value.push(c);
                escaped = false;
            }
            '\\' => escaped = true,
            ',' | '+' => break,
            _ => value.push(c),
        }
    }
    value.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MS-DTYP 2.3.4.2's example layout: Data1..Data3 little-endian, Data4 as is.
    #[test]
    fn guids_are_rendered_with_the_first_three_fields_little_endian() {
        let raw = [
            0x44, 0x33, 0x22, 0x11, 0x66, 0x55, 0x88, 0x77, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
            0xff, 0x00,
        ];
        let text = guid_text(&raw).expect("16 bytes");
        assert_eq!(text, "11223344-5566-7788-99aa-bbccddeeff00");
        assert_eq!(guid_bytes(&text), Some(raw));
        assert_eq!(
            filter_bytes(&raw[..3]),
            "\\44\\33\\22",
            "a filter carries the wire order"
        );
        assert!(guid_text(&raw[..15]).is_err());
        assert_eq!(guid_bytes("not-a-guid"), None);
    }

    #[test]
    fn sids_split_into_domain_and_rid() {
        // S-1-5-21-1004336348-1177238915-682003330-513 (Domain Users).
        let mut raw = vec![1, 5, 0, 0, 0, 0, 0, 5];
        for sub in [21_u32, 1_004_336_348, 1_177_238_915, 682_003_330, 513] {
            raw.extend_from_slice(&sub.to_le_bytes());
        }
        let sid = Sid::parse(&raw).expect("a SID");
        assert_eq!(sid.domain, "S-1-5-21-1004336348-1177238915-682003330");
        assert_eq!(sid.rid, 513);
        assert_eq!(Sid::parse(&raw[..raw.len() - 1]), None);
        assert_eq!(Sid::parse(&[1, 0, 0, 0, 0, 0, 0, 5]), None);
    }

    #[test]
    fn the_disabled_bit_is_0x2_whatever_else_is_set() {
        assert_eq!(is_disabled("512"), Some(false));
        assert_eq!(is_disabled("514"), Some(true));
        assert_eq!(is_disabled("66050"), Some(true));
        assert_eq!(is_disabled("66048"), Some(false));
        assert_eq!(is_disabled("-2147483646"), Some(true));
        assert_eq!(is_disabled("enabled"), None);
    }

    #[test]
    fn ranged_names_parse_in_any_case() {
        assert_eq!(
            Range::of("member;range=0-1499", "member"),
            Some(Ok(Range {
                low: 0,
                high: Some(1499)
            }))
        );
        assert_eq!(
            Range::of("Member;Range=1500-*", "member"),
            Some(Ok(Range {
                low: 1500,
                high: None
            }))
        );
        assert_eq!(Range::of("member", "member"), None);
        assert_eq!(Range::of("memberOf;range=0-1", "member"), None);
        assert!(matches!(
            Range::of("member;range=9-3", "member"),
            Some(Err(_))
        ));
    }

    #[test]
    fn dns_are_told_from_names() {
        assert!(looks_like_dn(
            "CN=SG-Rescue-L2,OU=Groups,DC=corp,DC=example"
        ));
        assert!(looks_like_dn("cn=helpdesk"));
        assert!(!looks_like_dn("SG-Rescue-L2"));
        assert!(!looks_like_dn("Helpdesk (L2)"));
        assert_eq!(
            first_rdn_value("CN=Doe\\, Jane,OU=People,DC=corp"),
            "Doe, Jane"
        );
    }
}
