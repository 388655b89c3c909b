//! A pairing's `where:` condition as an LDAP filter (RFC 4515) over Active Directory's
//! attributes.
//!
//! Graph names map to AD's: `givenName`, `sn`, `title`, `department`, `mobile`, `employeeID`,
//! `extensionAttribute1` … `15`; `accountEnabled` is bit 2 of `userAccountControl` (the bitwise
//! AND rule `1.2.840.113556.1.4.803`). AD compares these texts without regard to case, as
//! adsync does; `(!(department=Sales))` includes users without a department, as `ne` does here.
//! adsync evaluates the condition again over the users read, so the filter only narrows the
//! read. `id` (a binary objectGUID) and schema extensions (Entra ID only) cannot be searched.

use adsync_core::attribute::ON_PREMISES_EXTENSIONS;
use adsync_core::condition::{Condition, Literal, Op};
use ldap3::ldap_escape;

/// Bit 2 of `userAccountControl`: the account is disabled.
const DISABLED: &str = "(userAccountControl:1.2.840.113556.1.4.803:=2)";

/// `condition` as an LDAP filter, or why it cannot be one.
pub fn ldap_filter(condition: &Condition) -> Result<String, String> {
    Ok(match condition {
        Condition::Compare {
            attribute,
            op,
            value,
        } => compare(attribute, *op, value)?,
        Condition::In { attribute, values } => {
            let mut any = String::from("(|");
            for value in values {
                any.push_str(&compare(attribute, Op::Eq, value)?);
            }
            any + ")"
        }
        Condition::Not(inner) => format!("(!{})", ldap_filter(inner)?),
        Condition::And(all) => joined('&', all)?,
        Condition::Or(any) => joined('|', any)?,
    })
}

fn joined(operator: char, parts: &[Condition]) -> Result<String, String> {
    let mut out = format!("({operator}");
    for part in parts {
        out.push_str(&ldap_filter(part)?);
    }
    Ok(out + ")")
}

fn compare(attribute: &str, op: Op, value: &Literal) -> Result<String, String> {
    if attribute == "accountEnabled" {
        let wanted = matches!(value, Literal::Bool(true)) == (op == Op::Eq);
        return Ok(if wanted {
            format!("(!{DISABLED})")
        } else {
            DISABLED.to_owned()
        });
    }
    let name = ad_name(attribute)?;
    let equal = match value {
        Literal::Null => format!("(!({name}=*))"),
        Literal::Text(text) => format!("({name}={})", ldap_escape(text)),
        Literal::Bool(_) => return Err(format!("`{attribute}` is not true or false")),
    };
    Ok(match (op, value) {
        (Op::Eq, _) => equal,
        (Op::Ne, Literal::Null) => format!("({name}=*)"),
        (Op::Ne, _) => format!("(!{equal})"),
        (Op::StartsWith, Literal::Text(text)) => format!("({name}={}*)", ldap_escape(text)),
        (Op::StartsWith, _) => return Err("startswith takes a text".to_owned()),
    })
}

/// Active Directory's name for a Graph attribute.
pub(crate) fn ad_name(attribute: &str) -> Result<&str, String> {
    if let Some(number) = attribute
        .strip_prefix(ON_PREMISES_EXTENSIONS)
        .and_then(|rest| rest.strip_prefix('.'))
    {
        return Ok(number);
    }
    Ok(match attribute {
        "userPrincipalName" | "mail" | "displayName" | "givenName" | "department" => attribute,
        "surname" => "sn",
        "jobTitle" => "title",
        "mobilePhone" => "mobile",
        "employeeId" => "employeeID",
        "id" => {
            return Err(
                "`id` is the binary objectGUID in Active Directory; select by group".into(),
            );
        }
        other if other.starts_with("extension_") => {
            return Err(format!(
                "`{other}` is a directory schema extension of Entra ID; Active Directory has none"
            ));
        }
        other => return Err(format!("`{other}` has no Active Directory counterpart")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use adsync_core::condition::parse;

    #[test]
    fn conditions_become_ldap_filters() {
        for (text, filter) in [
            (
                r#"department eq "Service Desk" and accountEnabled eq true"#,
                "(&(department=Service Desk)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
            ),
            (
                "onPremisesExtensionAttributes.extensionAttribute3 in ('l2', 'l3*')",
                "(|(extensionAttribute3=l2)(extensionAttribute3=l3\\2a))",
            ),
            (
                "not (jobTitle startswith 'Sup(' or mail eq null)",
                "(!(|(title=Sup\\28*)(!(mail=*))))",
            ),
            (
                "surname ne 'x' and accountEnabled ne true",
                "(&(!(sn=x))(userAccountControl:1.2.840.113556.1.4.803:=2))",
            ),
        ] {
            assert_eq!(
                ldap_filter(&parse(text).expect(text)),
                Ok(filter.to_owned()),
                "{text}"
            );
        }
        for refused in [
            "id eq 'x'",
            "extension_0123456789abcdef0123456789abcdef_cc eq 'x'",
        ] {
            assert!(
                ldap_filter(&parse(refused).expect(refused)).is_err(),
                "{refused}"
            );
        }
    }
}
