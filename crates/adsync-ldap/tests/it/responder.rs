//! Against the scripted Active Directory responder: what OpenLDAP does not implement (range
//! retrieval, the in-chain rule, primary-group membership, AD's page cap) and the faults that
//! must refuse a plan (rc 4, a dropped connection, a timeout, referrals).

use std::time::Duration;

use adsync_core::adapter::{AdapterError, AdapterErrorKind, Source, SourceRequest};
use adsync_core::config::{GroupRef, InChain};
use adsync_ldap::{Error, LdapSettings, LdapSource};
use adsync_tests::ad_directory::{AdDirectory, AdGroup, AdUser, BASE_DN, guid_text};
use adsync_tests::ad_responder::{AdResponder, MAX_VAL_RANGE, Script};

use crate::{member_ids, read, settings};

/// `SG-Big` with 3,000 direct members.
fn big_directory() -> AdDirectory {
    let users: Vec<AdUser> = (0..3000)
        .map(|i| AdUser::new(&format!("user{i:04}.big"), i))
        .collect();
    let members = users.iter().map(|u| u.dn.clone()).collect();
    AdDirectory {
        users,
        groups: vec![AdGroup::new("SG-Big", 1, members)],
    }
}

fn sorted_ids(users: &[&AdUser]) -> Vec<String> {
    let mut ids: Vec<String> = users.iter().map(|u| guid_text(u.guid)).collect();
    ids.sort();
    ids
}

fn with(url: &str, in_chain: InChain) -> LdapSettings {
    let mut settings = settings(url);
    settings.in_chain = in_chain;
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_3000_member_group_is_read_whole_through_range_retrieval() {
    let directory = big_directory();
    let responder = AdResponder::start(&directory, Script::default()).await;
    let snapshot = read(with(&responder.url(), InChain::Auto), &["SG-Big"])
        .await
        .expect("a read");
    let all: Vec<&AdUser> = directory.users.iter().collect();
    assert_eq!(member_ids(&snapshot, "SG-Big"), sorted_ids(&all));
    const { assert!(3000 > 2 * MAX_VAL_RANGE - 1) };
    let searches = responder.searches();
    assert!(
        searches
            .iter()
            .any(|s| s.ends_with("| member;range=1500-*")),
        "the second range was asked for: {searches:?}"
    );
}

/// With the in-chain rule the 3,000 users come from one search, paged by the client and
/// capped at 1,000 per page by the server whatever the client asks for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_chain_reads_are_paged_past_ads_page_cap() {
    let directory = big_directory();
    let script = Script {
        in_chain: true,
        ..Script::default()
    };
    let responder = AdResponder::start(&directory, script).await;
    let mut settings = with(&responder.url(), InChain::Auto);
    settings.page_size = 5000;
    let snapshot = read(settings, &["SG-Big"]).await.expect("a read");
    assert_eq!(member_ids(&snapshot, "SG-Big").len(), 3000);
    let in_chain_pages = responder
        .searches()
        .iter()
        .filter(|s| s.contains("1.2.840.113556.1.4.1941") && s.contains("\"user\""))
        .count();
    assert_eq!(in_chain_pages, 3, "three pages of 1,000");
}

/// A -> B -> C -> A, each with its own user: every path (in-chain, walking `member`) finds
/// the three users, and the cycle ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_chain_with_a_cycle_by_either_path() {
    let users: Vec<AdUser> = ["a.one", "b.two", "c.three"]
        .iter()
        .enumerate()
        .map(|(i, name)| AdUser::new(name, u32::try_from(i).expect("small")))
        .collect();
    let group_dn = |name: &str| format!("cn={name},ou=Groups,{BASE_DN}");
    let groups = vec![
        AdGroup::new("SG-A", 1, vec![users[0].dn.clone(), group_dn("SG-B")]),
        AdGroup::new("SG-B", 2, vec![users[1].dn.clone(), group_dn("SG-C")]),
        AdGroup::new("SG-C", 3, vec![users[2].dn.clone(), group_dn("SG-A")]),
    ];
    let directory = AdDirectory { users, groups };
    let everyone: Vec<&AdUser> = directory.users.iter().collect();
    for in_chain in [true, false] {
        let script = Script {
            in_chain,
            ..Script::default()
        };
        let responder = AdResponder::start(&directory, script).await;
        for groups in [["SG-A"], ["SG-C"]] {
            let snapshot = read(with(&responder.url(), InChain::Auto), &groups)
                .await
                .expect("a read");
            assert_eq!(
                member_ids(&snapshot, groups[0]),
                sorted_ids(&everyone),
                "{in_chain}"
            );
            assert_eq!(snapshot.groups[0].member_groups.len(), 2, "{in_chain}");
        }
        let used_rule = responder
            .searches()
            .iter()
            .any(|s| s.contains("1.2.840.113556.1.4.1941"));
        assert_eq!(used_rule, in_chain, "the rule is used only where announced");
    }
}

/// Users whose primary group is the paired group, or a group nested in it, are members
/// although no `member` value lists them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_group_members_are_present() {
    let mut users: Vec<AdUser> = (0..4)
        .map(|i| AdUser::new(&format!("p{i}.user"), i))
        .collect();
    let staff = AdGroup::new(
        "Staff",
        1,
        vec![
            users[0].dn.clone(),
            format!("cn=Contractors,ou=Groups,{BASE_DN}"),
        ],
    );
    let contractors = AdGroup::new("Contractors", 2, Vec::new());
    users[1].primary_group = staff.rid;
    users[2].primary_group = contractors.rid;
    let directory = AdDirectory {
        users,
        groups: vec![staff, contractors],
    };
    for in_chain in [true, false] {
        let script = Script {
            in_chain,
            ..Script::default()
        };
        let responder = AdResponder::start(&directory, script).await;
        let snapshot = read(with(&responder.url(), InChain::Auto), &["Staff"])
            .await
            .expect("a read");
        let expected: Vec<&AdUser> = directory.users[..3].iter().collect();
        assert_eq!(
            member_ids(&snapshot, "Staff"),
            sorted_ids(&expected),
            "{in_chain}"
        );
    }
}

async fn failed_read(script: Script, timeout: Duration) -> (Error, Vec<String>) {
    let directory = big_directory();
    let responder = AdResponder::start(&directory, script).await;
    let mut settings = with(&responder.url(), InChain::Auto);
    settings.timeout = timeout;
    let error = read(settings, &["SG-Big"])
        .await
        .expect_err("a failed read");
    (error, responder.searches())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_size_limit_answer_refuses_the_read_naming_the_search() {
    let script = Script {
        in_chain: true,
        size_limit_on: Some("1.2.840.113556.1.4.1941".into()),
        ..Script::default()
    };
    let (error, _) = failed_read(script, Duration::from_secs(20)).await;
    let message = error.to_string();
    assert!(matches!(error, Error::SizeLimit { .. }), "{message}");
    assert!(message.contains("rc 4"), "{message}");
    assert!(
        message.contains("the members of `cn=SG-Big,ou=Groups,dc=corp,dc=example`"),
        "{message}"
    );
    assert!(message.contains("no plan"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_refuses_the_read_naming_the_search() {
    let script = Script {
        drop_on: Some("primaryGroupID".into()),
        ..Script::default()
    };
    let (error, _) = failed_read(script, Duration::from_secs(20)).await;
    let message = error.to_string();
    assert!(matches!(error, Error::Dropped { .. }), "{message}");
    assert!(
        message.contains("the users whose primary group is `cn=SG-Big"),
        "{message}"
    );
    assert_eq!(AdapterError::from(error).kind, AdapterErrorKind::Transport);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_never_answered_times_out() {
    let script = Script {
        stall_on: Some("primaryGroupID".into()),
        ..Script::default()
    };
    let (error, _) = failed_read(script, Duration::from_secs(1)).await;
    assert!(matches!(error, Error::Timeout { .. }), "{error}");
    assert!(error.to_string().contains("timed out after 1 s"), "{error}");
}

/// A member held by another domain's controller is a referral adsync cannot follow; so is a
/// continuation reference to that domain. References to the DNS and Configuration partitions
/// (which AD sends for every search from the domain root) are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referrals_refuse_the_read_unless_they_hold_no_users() {
    let mut directory = big_directory();
    directory.users.truncate(3);
    directory.groups[0].members = directory.users.iter().map(|u| u.dn.clone()).collect();
    directory.groups[0]
        .members
        .push("cn=someone,ou=People,dc=child,dc=corp,dc=example".into());
    let script = Script {
        referral_on: Some("dc=child".into()),
        ..Script::default()
    };
    let responder = AdResponder::start(&directory, script).await;
    let error = read(with(&responder.url(), InChain::Never), &["SG-Big"])
        .await
        .expect_err("a referral");
    assert!(matches!(error, Error::Referral { .. }), "{error}");
    assert!(
        error.to_string().contains("ldap://child.corp.example/"),
        "{error}"
    );

    directory.groups[0].members.pop();
    let partitions = vec![
        format!("ldap://DomainDnsZones.corp.example/DC=DomainDnsZones,{BASE_DN}"),
        format!("ldap://ForestDnsZones.corp.example/DC=ForestDnsZones,{BASE_DN}"),
        format!("ldap://corp.example/CN=Configuration,{BASE_DN}"),
    ];
    let script = Script {
        continuation: partitions.clone(),
        ..Script::default()
    };
    let responder = AdResponder::start(&directory, script).await;
    let snapshot = read(with(&responder.url(), InChain::Never), &["SG-Big"])
        .await
        .expect("references to partitions without users are skipped");
    assert_eq!(member_ids(&snapshot, "SG-Big").len(), 3);

    let mut child = partitions;
    child.push(format!("ldap://child.corp.example/DC=child,{BASE_DN}"));
    responder.set_script(Script {
        continuation: child,
        ..Script::default()
    });
    let error = read(with(&responder.url(), InChain::Never), &["SG-Big"])
        .await
        .expect_err("a reference to a domain");
    assert!(matches!(error, Error::Referral { .. }), "{error}");
}

/// `{ id: <objectGUID> }` finds the group by its GUID in wire order; the snapshot names it by
/// its cn; a wrong password is rc 49 with AD's data code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_by_object_guid_and_ad_bind_refusals() {
    let mut directory = big_directory();
    directory.users.truncate(2);
    directory.groups[0].members.truncate(2);
    let responder = AdResponder::start(&directory, Script::default()).await;
    let group = &directory.groups[0];
    assert!(
        std::str::from_utf8(&group.guid).is_ok(),
        "the responder's codec reads text filters"
    );
    let source = LdapSource::new(with(&responder.url(), InChain::Auto)).expect("settings");
    let snapshot = source
        .snapshot(&SourceRequest {
            groups: vec![GroupRef::Id {
                id: guid_text(group.guid).to_uppercase(),
            }],
            nested_groups: false,
            ..Default::default()
        })
        .await
        .expect("a read by id");
    assert_eq!(snapshot.groups[0].display_name, "SG-Big");
    assert_eq!(snapshot.groups[0].members.len(), 2);

    let mut wrong = with(&responder.url(), InChain::Auto);
    wrong.password = adsync_core::secret::Secret::new("nope-nope-nope");
    let error = read(wrong, &["SG-Big"]).await.expect_err("refused");
    assert!(error.to_string().contains("data 52e"), "{error}");
}
