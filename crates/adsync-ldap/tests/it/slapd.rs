//! Against a real OpenLDAP slapd with AD-shaped entries (Debian's `msuser` schema) and a size
//! limit of 5 entries for the service account: paging, LDAPS and StartTLS with a test CA,
//! refused credentials and certificates, binary GUIDs, the disabled bit, renames.

use adsync_core::adapter::{
    AdapterError, AdapterErrorKind, ReadProgress, ReadStep, Source, SourceRequest,
};
use adsync_core::config::{GroupRef, InChain};
use adsync_ldap::{Error, LdapSource};
use adsync_tests::ad_directory::{AdDirectory, AdGroup, AdUser, guid_text};
use adsync_tests::slapd::{SERVICE_PASSWORD, SIZE_LIMIT, Slapd, TestCa};

use crate::{member_ids, read, settings};

/// 13 users in `SG-Rescue-L2` (nesting `SG-Field`, which nests L2 back), 12 `SG-Team-*`
/// groups, a disabled user, and a second `SG-Dup` in another OU.
fn directory() -> AdDirectory {
    let mut users: Vec<AdUser> = (0..13)
        .map(|i| AdUser::new(&format!("tech{i:02}.person"), i))
        .collect();
    users[3].uac = 514;
    users[4].uac = 66048;
    let field = AdUser::new("field.worker", 50);
    let l2_members: Vec<String> = users
        .iter()
        .map(|u| u.dn.clone())
        .chain([format!(
            "cn=SG-Field,ou=Groups,{}",
            adsync_tests::ad_directory::BASE_DN
        )])
        .collect();
    let mut groups = vec![
        AdGroup::new("SG-Rescue-L2", 1, l2_members),
        AdGroup::new(
            "SG-Field",
            2,
            vec![
                field.dn.clone(),
                format!(
                    "cn=SG-Rescue-L2,ou=Groups,{}",
                    adsync_tests::ad_directory::BASE_DN
                ),
            ],
        ),
        AdGroup::new("SG-Dup", 3, vec![users[0].dn.clone()]),
    ];
    let mut other_dup = AdGroup::new("SG-Dup", 4, vec![users[1].dn.clone()]);
    other_dup.dn = format!(
        "cn=SG-Dup,ou=People,{}",
        adsync_tests::ad_directory::BASE_DN
    );
    groups.push(other_dup);
    for i in 0..12 {
        groups.push(AdGroup::new(&format!("SG-Team-{i:02}"), 10 + i, Vec::new()));
    }
    users.push(field);
    AdDirectory { users, groups }
}

fn ldaps(slapd: &Slapd) -> adsync_ldap::LdapSettings {
    let mut settings = settings(&slapd.ldaps_url());
    settings.ca_pem = Some(slapd.ca_pem().as_bytes().to_vec());
    settings.page_size = u32::try_from(SIZE_LIMIT).expect("small");
    settings.in_chain = InChain::Never;
    settings
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ldaps_with_the_test_ca_reads_nested_groups_with_cycles_cut() {
    let directory = directory();
    let slapd = Slapd::start(&directory);
    let snapshot = read(ldaps(&slapd), &["SG-Rescue-L2"])
        .await
        .expect("a read");
    let mut expected: Vec<String> = directory.users.iter().map(|u| guid_text(u.guid)).collect();
    expected.sort();
    assert_eq!(member_ids(&snapshot, "SG-Rescue-L2"), expected);
    let field = directory.group("SG-Field");
    assert_eq!(
        snapshot.groups[0].member_groups,
        vec![guid_text(field.guid)]
    );
    assert_eq!(
        snapshot.groups[0].id,
        guid_text(directory.group("SG-Rescue-L2").guid)
    );

    // The same through the certificate's DNS name.
    let mut by_name = ldaps(&slapd);
    by_name.url = slapd.ldaps_localhost_url();
    let again = read(by_name, &["sg-rescue-l2"])
        .await
        .expect("a read by DNS name");
    assert_eq!(member_ids(&again, "sg-rescue-l2"), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_the_test_ca_reads_the_same() {
    let slapd = Slapd::start(&directory());
    let mut settings = ldaps(&slapd);
    settings.url = slapd.ldap_url();
    settings.starttls = true;
    let snapshot = read(settings, &["SG-Rescue-L2"])
        .await
        .expect("a read over StartTLS");
    assert_eq!(member_ids(&snapshot, "SG-Rescue-L2").len(), 14);
}

/// What a read told its progress, in order.
#[derive(Default)]
struct Recorded(std::sync::Mutex<Vec<ReadStep>>);

impl ReadProgress for Recorded {
    fn report(&self, step: ReadStep) {
        self.0.lock().expect("not poisoned").push(step);
    }
}

/// Through the `Source` trait, the read reports after each group: groups done of those
/// asked for, the pages of subtree searches so far, and the users listed per group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_reports_each_group_its_pages_and_users() {
    let slapd = Slapd::start(&directory());
    let source = LdapSource::new(ldaps(&slapd)).expect("settings");
    let request = SourceRequest {
        groups: ["SG-Rescue-L2", "SG-Field"]
            .iter()
            .map(|name| GroupRef::Name((*name).to_owned()))
            .collect(),
        nested_groups: true,
        ..Default::default()
    };
    let recorded = Recorded::default();
    let snapshot = source
        .snapshot_reporting(&request, &recorded)
        .await
        .expect("a read");
    let steps = recorded.0.into_inner().expect("not poisoned");
    let groups: Vec<(u64, u64, u64, u64)> = steps
        .iter()
        .map(|step| match *step {
            ReadStep::Groups {
                done,
                total,
                pages,
                users,
            } => (done, total, pages, users),
            other => panic!("a directory read reports groups only, not {other:?}"),
        })
        .collect();
    assert_eq!(
        groups.iter().map(|g| (g.0, g.1)).collect::<Vec<_>>(),
        vec![(1, 2), (2, 2)]
    );
    let listed: u64 = snapshot.groups.iter().map(|g| g.members.len() as u64).sum();
    assert_eq!(groups[1].3, listed);
    assert_eq!(groups[0].3, snapshot.groups[0].members.len() as u64);
    // Each group is found by a paged subtree search, so pages grow with the groups.
    assert!(groups[0].2 >= 1 && groups[1].2 > groups[0].2, "{groups:?}");
}

/// The service account may get 5 entries per search; 12 groups come back through pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paged_searches_read_past_the_servers_size_limit() {
    let slapd = Slapd::start(&directory());
    let source = LdapSource::new(ldaps(&slapd)).expect("settings");
    let found = source
        .search_groups("SG-Team")
        .await
        .expect("a paged search");
    let names: Vec<String> = found.iter().map(|g| g.name.clone()).collect();
    let expected: Vec<String> = (0..12).map(|i| format!("SG-Team-{i:02}")).collect();
    assert_eq!(names, expected);
    assert!(found.len() > SIZE_LIMIT);

    // A page larger than the server allows is a failed read that names the search.
    let mut big = ldaps(&slapd);
    big.page_size = 10;
    let error = LdapSource::new(big)
        .expect("settings")
        .search_groups("SG-Team")
        .await
        .expect_err("the server refuses the page size");
    let message = error.to_string();
    assert!(
        message.contains("the search for groups matching `SG-Team`"),
        "{message}"
    );
    assert!(message.contains("rc 11"), "{message}");
    let adapted = AdapterError::from(error);
    assert!(
        adapted
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("page_size"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_rc_49_and_never_quoted() {
    let slapd = Slapd::start(&directory());
    let mut settings = ldaps(&slapd);
    let wrong = "Wrong-pass-4Kq8-Zt1x";
    settings.password = adsync_core::secret::Secret::new(wrong);
    let error = read(settings, &["SG-Rescue-L2"])
        .await
        .expect_err("refused");
    assert!(matches!(error, Error::Bind { rc: 49, .. }), "{error}");
    let adapted = AdapterError::from(error);
    assert_eq!(adapted.kind, AdapterErrorKind::Auth);
    let shown = format!("{adapted} {:?} {:?}", adapted.hint, adapted);
    assert!(shown.contains("invalidCredentials"), "{shown}");
    assert!(shown.contains("cn=svc-adsync"), "{shown}");
    assert!(
        !shown.contains(wrong) && !shown.contains(SERVICE_PASSWORD),
        "{shown}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused_with_a_hint() {
    let slapd = Slapd::start(&directory());
    for ca in [None, Some(TestCa::new().ca_pem)] {
        let mut settings = ldaps(&slapd);
        settings.ca_pem = ca.map(String::into_bytes);
        let error = read(settings, &["SG-Rescue-L2"])
            .await
            .expect_err("refused");
        assert!(
            matches!(
                error,
                Error::Connect {
                    certificate: true,
                    ..
                }
            ),
            "{error}"
        );
        let adapted = AdapterError::from(error);
        assert!(adapted.to_string().contains("certificate"), "{adapted}");
        assert!(
            adapted
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("source.ca_file")),
            "{:?}",
            adapted.hint
        );
    }
}

/// A GUID whose 16 bytes are valid UTF-8 reaches the client as text in ldap3's own entry type;
/// both kinds come out as the same canonical ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guids_that_are_valid_utf8_and_guids_that_are_not_both_read() {
    let directory = directory();
    let slapd = Slapd::start(&directory);
    let snapshot = read(ldaps(&slapd), &["SG-Rescue-L2"])
        .await
        .expect("a read");
    let text_guid = directory.user("tech00.person");
    let binary_guid = directory.user("tech01.person");
    assert!(std::str::from_utf8(&text_guid.guid).is_ok());
    assert!(std::str::from_utf8(&binary_guid.guid).is_err());
    for user in [text_guid, binary_guid] {
        let id = guid_text(user.guid);
        let found = snapshot.users.iter().find(|u| u.id == id);
        assert_eq!(
            found.map(|u| u.upn.as_str()),
            Some(user.upn.as_str()),
            "{id}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_disabled_bit_and_the_attributes_map() {
    let directory = directory();
    let slapd = Slapd::start(&directory);
    let snapshot = read(ldaps(&slapd), &["SG-Rescue-L2"])
        .await
        .expect("a read");
    let user = |sam: &str| {
        let id = guid_text(directory.user(sam).guid);
        snapshot
            .users
            .iter()
            .find(|u| u.id == id)
            .cloned()
            .expect("read")
    };
    assert!(!user("tech03.person").account_enabled, "514 has bit 0x2");
    assert!(user("tech04.person").account_enabled, "66048 has not");
    let jane = user("tech00.person");
    assert!(jane.account_enabled);
    assert_eq!(jane.mail.as_deref(), Some("tech00.person@corp.example"));
    assert_eq!(jane.upn, "tech00.person@corp.example");
    assert_eq!(jane.display_name, "Tech00 Person");
    assert_eq!(jane.given_name.as_deref(), Some("Tech00"));
    assert_eq!(jane.surname.as_deref(), Some("Person"));
    assert_eq!(jane.job_title.as_deref(), Some("Support engineer"));
}

/// A rename and a move (new RDN, new OU, new mail) keep the objectGUID, so the id is the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_and_move_keeps_the_id() {
    let directory = directory();
    let slapd = Slapd::start(&directory);
    let before = read(ldaps(&slapd), &["SG-Rescue-L2"])
        .await
        .expect("a read");
    let old = directory.user("tech05.person");
    let new_dn = format!(
        "cn=tech05.renamed,ou=Service,{}",
        adsync_tests::ad_directory::BASE_DN
    );
    let group = &directory.group("SG-Rescue-L2").dn;
    // Active Directory updates `member` itself (linked attributes); slapd is told.
    slapd.modify(&format!(
        "dn: {}\nchangetype: modrdn\nnewrdn: cn=tech05.renamed\ndeleteoldrdn: 1\nnewsuperior: ou=Service,{}\n\n\
         dn: {new_dn}\nchangetype: modify\nreplace: mail\nmail: renamed@corp.example\n-\nreplace: displayName\ndisplayName: Renamed Person\n\n\
         dn: {group}\nchangetype: modify\ndelete: member\nmember: {}\n-\nadd: member\nmember: {new_dn}\n\n",
        old.dn,
        adsync_tests::ad_directory::BASE_DN,
        old.dn,
    ));
    let after = read(ldaps(&slapd), &["SG-Rescue-L2"])
        .await
        .expect("a read");
    assert_eq!(
        member_ids(&before, "SG-Rescue-L2"),
        member_ids(&after, "SG-Rescue-L2")
    );
    let id = guid_text(old.guid);
    let renamed = after.users.iter().find(|u| u.id == id).expect("same id");
    assert_eq!(renamed.mail.as_deref(), Some("renamed@corp.example"));
    assert_eq!(renamed.display_name, "Renamed Person");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_by_dn_and_ambiguous_names() {
    let directory = directory();
    let slapd = Slapd::start(&directory);
    let error = read(ldaps(&slapd), &["SG-Dup"])
        .await
        .expect_err("ambiguous");
    let message = error.to_string();
    assert!(matches!(error, Error::AmbiguousGroup { .. }), "{message}");
    assert!(
        message.contains("cn=SG-Dup,ou=Groups") && message.contains("cn=SG-Dup,ou=People"),
        "{message}"
    );

    let dn = directory.groups[3].dn.clone();
    let snapshot = read(ldaps(&slapd), &[dn.as_str()]).await.expect("by DN");
    assert_eq!(
        member_ids(&snapshot, &dn),
        vec![guid_text(directory.users[1].guid)]
    );

    let error = read(ldaps(&slapd), &["SG-Rescue-L3"])
        .await
        .expect_err("missing");
    assert!(
        error.to_string().contains("`SG-Rescue-L2`"),
        "close names: {error}"
    );
}

/// A pairing's `where:` with no group: the users it selects are found by a paged subtree
/// search with the condition as an LDAP filter (the disabled bit by the bitwise-AND rule),
/// exactly those adsync's own evaluation selects from the whole directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_condition_reads_the_users_it_selects() {
    let mut directory = directory();
    directory.users[5].title = Some("Field lead".to_owned());
    directory.users[6].title = None;
    let slapd = Slapd::start(&directory);
    let source = LdapSource::new(ldaps(&slapd)).expect("settings");
    let condition =
        adsync_core::condition::parse("jobTitle startswith 'SUPPORT' and accountEnabled eq true")
            .expect("parses");
    let request = SourceRequest {
        selections: vec![condition.clone()],
        ..Default::default()
    };
    let snapshot = source.snapshot(&request).await.expect("a read");
    let mut read: Vec<&str> = snapshot.users.iter().map(|u| u.upn.as_str()).collect();
    read.sort_unstable();
    let mut wanted: Vec<&str> = directory
        .users
        .iter()
        .filter(|u| u.title.as_deref() == Some("Support engineer") && u.uac & 2 == 0)
        .map(|u| u.upn.as_str())
        .collect();
    wanted.sort_unstable();
    assert_eq!(read, wanted);
    assert_eq!(
        read.len(),
        11,
        "13 + 1 users, less the disabled one and two others"
    );
    assert!(snapshot.users.iter().all(|user| condition.matches(user)));

    // A schema extension exists in Entra ID only: the read fails, naming it.
    let request = SourceRequest {
        attributes: vec!["extension_0123456789abcdef0123456789abcdef_costCenter".into()],
        ..Default::default()
    };
    let error = source.read(&request).await.expect_err("refused");
    assert!(matches!(error, Error::Unsupported { .. }), "{error}");
}
