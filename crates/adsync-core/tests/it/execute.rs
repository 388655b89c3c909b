//! The executor: phases, prerequisites, failures that stop nobody else, drift.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use adsync_core::adapter::{
    AdapterError, AdapterErrorKind, Applied, DetailRequest, FailureCategory, Target,
};
use adsync_core::config::Config;
use adsync_core::desired::desired;
use adsync_core::execute::{
    ActionResult, ApplyObserver, Outcome, check_preconditions, execute, links_after,
};
use adsync_core::memory::MemoryTarget;
use adsync_core::model::{DirectorySnapshot, NodeId, RescueSnapshot, Status};
use adsync_core::plan::{Action, ActionKind, CurrentState, Links, Plan, Policy, plan};
use async_trait::async_trait;

fn scenario(name: &str) -> (Config, DirectorySnapshot, RescueSnapshot) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/scenarios")
        .join(name);
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).expect("fixture exists");
    (
        serde_yaml::from_str(&read("config.yaml")).expect("config"),
        serde_yaml::from_str(&read("directory.yaml")).expect("directory"),
        serde_yaml::from_str(&read("rescue.yaml")).expect("rescue"),
    )
}

fn make_plan(config: &Config, directory: &DirectorySnapshot, rescue: &RescueSnapshot) -> Plan {
    let desired = desired(directory, config).expect("desired");
    let current = CurrentState {
        rescue: rescue.clone(),
        links: Default::default(),
    };
    plan(&desired, &current, &Policy::from_config(config)).expect("plan")
}

/// A memory target that refuses chosen actions, and records the order actions ran in.
struct Flaky {
    inner: MemoryTarget,
    refuse: BTreeMap<String, AdapterErrorKind>,
    ran: Mutex<Vec<String>>,
}

#[async_trait]
impl Target for Flaky {
    async fn snapshot(&self, details: &DetailRequest) -> Result<RescueSnapshot, AdapterError> {
        self.inner.snapshot(details).await
    }

    async fn apply(
        &self,
        action: &Action,
        parent: Option<NodeId>,
    ) -> Result<Applied, AdapterError> {
        self.ran
            .lock()
            .expect("not poisoned")
            .push(action.id().to_owned());
        if let Some(kind) = self.refuse.get(action.id()) {
            return Err(AdapterError::new(*kind, "refused by the test").with_code("TEST_CODE"));
        }
        self.inner.apply(action, parent).await
    }

    async fn rollback_created(&self, node: NodeId) -> Result<(), AdapterError> {
        self.inner.rollback_created(node).await
    }

    fn concurrency(&self) -> usize {
        3
    }
}

#[derive(Default)]
struct Recorder {
    phases: Vec<(ActionKind, usize)>,
    finished: Vec<ActionResult>,
}

impl ApplyObserver for Recorder {
    fn phase_started(&mut self, kind: ActionKind, actions: usize) {
        self.phases.push((kind, actions));
    }

    fn action_finished(&mut self, _action: &Action, result: &ActionResult) {
        self.finished.push(result.clone());
    }
}

#[test]
fn groups_are_created_before_the_users_that_need_them_and_the_plan_converges() {
    let (config, directory, rescue) = scenario("create-missing-groups-first");
    let first = make_plan(&config, &directory, &rescue);
    let target = Flaky {
        inner: MemoryTarget::new(rescue, 3),
        refuse: BTreeMap::new(),
        ran: Mutex::default(),
    };
    let mut recorder = Recorder::default();
    let report =
        futures::executor::block_on(execute(&first, &target, &BTreeMap::new(), &mut recorder));
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(recorder.finished.len(), first.actions.len());
    assert_eq!(
        recorder.phases,
        vec![(ActionKind::CreateGroup, 3), (ActionKind::CreateUser, 2)]
    );
    let ran = target.ran.lock().expect("not poisoned").clone();
    let night = ran
        .iter()
        .position(|id| id.ends_with("Helpdesk/L3/Night"))
        .expect("ran");
    let l3 = ran
        .iter()
        .position(|id| id.ends_with("Helpdesk/L3"))
        .expect("ran");
    let jane = ran
        .iter()
        .position(|id| id.contains("jane.doe"))
        .expect("ran");
    assert!(l3 < night && night < jane, "{ran:?}");

    let after = target.inner.into_snapshot();
    assert!(make_plan(&config, &directory, &after).is_empty());
}

#[test]
fn a_failed_group_skips_its_users_and_nothing_else_stops() {
    let (config, directory, rescue) = scenario("create-missing-groups-first");
    let first = make_plan(&config, &directory, &rescue);
    let refuse = BTreeMap::from([(
        "create_group:technicians:Helpdesk/L3".to_owned(),
        AdapterErrorKind::Permission,
    )]);
    let target = Flaky {
        inner: MemoryTarget::new(rescue, 3),
        refuse,
        ran: Mutex::default(),
    };
    let report = futures::executor::block_on(execute(
        &first,
        &target,
        &BTreeMap::new(),
        &mut Recorder::default(),
    ));
    let outcome = |id: &str| {
        report
            .results
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.outcome)
    };
    assert_eq!(
        outcome("create_group:technicians:Helpdesk/L3"),
        Some(Outcome::Failed)
    );
    assert_eq!(
        outcome("create_group:technicians:Helpdesk/L3/Night"),
        Some(Outcome::Skipped)
    );
    assert_eq!(
        outcome("create_user:technician:jane.doe@contoso.com"),
        Some(Outcome::Skipped)
    );
    assert_eq!(
        outcome("create_group:administrators:EMEA"),
        Some(Outcome::Applied)
    );
    assert_eq!(
        outcome("create_user:administrator:lena.fischer@contoso.com"),
        Some(Outcome::Applied)
    );
    let failures = report.failures_by_category();
    assert_eq!(
        failures.keys().copied().collect::<Vec<_>>(),
        vec![FailureCategory::Permission]
    );
    assert_eq!(
        failures[&FailureCategory::Permission][0].code.as_deref(),
        Some("TEST_CODE")
    );
    let ran = target.ran.lock().expect("not poisoned").clone();
    assert!(
        !ran.iter().any(|id| id.contains("jane.doe")),
        "a skipped action is never tried: {ran:?}"
    );
}

#[test]
fn per_user_failures_carry_their_category_and_the_rest_apply() {
    let (config, directory, rescue) = scenario("addon-released-on-disable");
    let first = make_plan(&config, &directory, &rescue);
    let refuse = BTreeMap::from([(
        "disable_user:technician:omar.haddad@contoso.com".to_owned(),
        AdapterErrorKind::NotFound,
    )]);
    let target = Flaky {
        inner: MemoryTarget::new(rescue, 3),
        refuse,
        ran: Mutex::default(),
    };
    let report = futures::executor::block_on(execute(
        &first,
        &target,
        &BTreeMap::new(),
        &mut Recorder::default(),
    ));
    assert_eq!(report.count(Outcome::Failed), 1);
    assert_eq!(report.count(Outcome::Applied), first.actions.len() - 1);
    assert_eq!(
        report
            .results
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        first.actions.iter().map(|a| a.id()).collect::<Vec<_>>(),
        "results come in plan order"
    );
    let failed = report.failures_by_category();
    assert_eq!(
        failed[&FailureCategory::NotFound][0]
            .email
            .as_ref()
            .map(|e| e.as_str()),
        Some("omar.haddad@contoso.com")
    );
}

#[test]
fn drifted_actions_are_reported_and_not_tried() {
    let (config, directory, rescue) = scenario("disable-when-user-left-group");
    let first = make_plan(&config, &directory, &rescue);
    // Someone disabled Omar by hand and moved Jane after the plan was made.
    let mut changed = rescue.clone();
    for node in &mut changed.nodes {
        if node.email.as_deref() == Some("omar.haddad@contoso.com") {
            node.status = Some(Status::Disabled);
        }
    }
    let drifted = check_preconditions(&first, &changed);
    assert_eq!(
        drifted.keys().cloned().collect::<BTreeSet<_>>(),
        BTreeSet::from(["disable_user:technician:omar.haddad@contoso.com".to_owned()])
    );
    let target = Flaky {
        inner: MemoryTarget::new(changed, 1),
        refuse: BTreeMap::new(),
        ran: Mutex::default(),
    };
    let report =
        futures::executor::block_on(execute(&first, &target, &drifted, &mut Recorder::default()));
    assert_eq!(report.count(Outcome::Drifted), 1);
    assert!(target.ran.lock().expect("not poisoned").is_empty());
}

#[test]
fn preconditions_catch_creates_moves_and_value_changes() {
    let (config, directory, rescue) = scenario("create-technician");
    let first = make_plan(&config, &directory, &rescue);
    assert!(
        check_preconditions(&first, &rescue).is_empty(),
        "a fresh plan has no drift"
    );
    let mut created = rescue.clone();
    let mut jane = created.nodes.last().expect("a node").clone();
    jane.id = NodeId(999);
    jane.parent = Some(NodeId(12));
    jane.node_type = adsync_core::model::NodeType::Technician;
    jane.email = Some("Jane.Doe@contoso.com".into());
    created.nodes.push(jane);
    assert_eq!(
        check_preconditions(&first, &created).len(),
        1,
        "someone created Jane meanwhile"
    );

    let (config, directory, rescue) = scenario("update-only-listed-attributes");
    let first = make_plan(&config, &directory, &rescue);
    let mut renamed = rescue.clone();
    for node in &mut renamed.nodes {
        if node.id == NodeId(100) {
            node.name = "Someone Else".into();
        }
    }
    assert_eq!(
        check_preconditions(&first, &renamed)
            .values()
            .next()
            .map(String::as_str),
        Some("the name of node 100 changed")
    );

    let (config, directory, rescue) = scenario("move-back-from-another-group");
    let first = make_plan(&config, &directory, &rescue);
    let mut moved = rescue.clone();
    for node in &mut moved.nodes {
        if node.id == NodeId(100) {
            node.parent = Some(NodeId(10));
        }
    }
    assert_eq!(
        check_preconditions(&first, &moved)
            .values()
            .next()
            .map(String::as_str),
        Some("node 100 was moved")
    );
}

/// Issue 26: between `plan --out` and `apply`, a node whose e-mail and name were given to
/// another person is that person's now: the disable or move the plan made for it drifts.
#[test]
fn a_node_reassigned_to_another_person_drifts() {
    for (scenario_name, id, node_id) in [
        (
            "disable-when-user-left-group",
            "disable_user:technician:omar.haddad@contoso.com",
            101,
        ),
        (
            "move-back-from-another-group",
            "move_user:technician:jane.doe@contoso.com",
            100,
        ),
    ] {
        let (config, directory, rescue) = scenario(scenario_name);
        let first = make_plan(&config, &directory, &rescue);
        assert!(
            first.actions.iter().any(|a| a.id() == id),
            "{scenario_name}"
        );
        let mut reassigned = rescue.clone();
        for node in &mut reassigned.nodes {
            if node.id == NodeId(node_id) {
                node.email = Some("new.hire@contoso.com".into());
                node.name = "New Hire".into();
            }
        }
        let drifted = check_preconditions(&first, &reassigned);
        let reason = drifted
            .get(id)
            .unwrap_or_else(|| panic!("{id} drifts: {drifted:?}"));
        assert!(reason.contains("belongs to someone else"), "{reason}");
        // Only the name given to someone else (a rename by hand): drifted too.
        let mut renamed = rescue.clone();
        for node in &mut renamed.nodes {
            if node.id == NodeId(node_id) {
                node.name = "New Hire".into();
            }
        }
        assert!(check_preconditions(&first, &renamed).contains_key(id));
    }
}

/// A user whose action drifted (its node may be someone else's now) gets no link recorded.
#[test]
fn a_drifted_user_gets_no_link() {
    let (config, directory, rescue) = scenario("move-back-from-another-group");
    let plan = make_plan(&config, &directory, &rescue);
    let id = "move_user:technician:jane.doe@contoso.com";
    let drifted = BTreeMap::from([(id.to_owned(), "node 100 belongs to someone else".to_owned())]);
    let target = Flaky {
        inner: MemoryTarget::new(rescue.clone(), 1),
        refuse: BTreeMap::new(),
        ran: Mutex::default(),
    };
    let report =
        futures::executor::block_on(execute(&plan, &target, &drifted, &mut Recorder::default()));
    assert_eq!(report.count(Outcome::Drifted), 1);
    let links = links_after(Links::default(), &plan, &report);
    assert!(links.technician.is_empty(), "{links:?}");
    let applied = futures::executor::block_on(execute(
        &plan,
        &Flaky {
            inner: MemoryTarget::new(rescue, 1),
            refuse: BTreeMap::new(),
            ran: Mutex::default(),
        },
        &BTreeMap::new(),
        &mut Recorder::default(),
    ));
    let links = links_after(Links::default(), &plan, &applied);
    assert_eq!(links.technician.values().next(), Some(&NodeId(100)));
}

/// Issue 26: a user disabled by hand after the plan was made does not get the mobile add-on the
/// plan granted.
#[test]
fn a_user_disabled_by_hand_gets_no_add_on() {
    let (config, directory, rescue) = scenario("mobile-addon-on-and-off");
    let first = make_plan(&config, &directory, &rescue);
    let grant = first
        .actions
        .iter()
        .find(|a| a.kind() == ActionKind::SetMobileLicense && a.mobile() == Some(true))
        .expect("the scenario grants an add-on");
    let node_id = grant.node_id().expect("a node");
    let mut disabled = rescue.clone();
    for node in &mut disabled.nodes {
        if node.id == node_id {
            node.status = Some(Status::Disabled);
        }
    }
    let drifted = check_preconditions(&first, &disabled);
    assert_eq!(
        drifted.get(grant.id()).map(String::as_str),
        Some(format!("node {node_id} is now Disabled").as_str())
    );
    let target = Flaky {
        inner: MemoryTarget::new(disabled, 1),
        refuse: BTreeMap::new(),
        ran: Mutex::default(),
    };
    let report =
        futures::executor::block_on(execute(&first, &target, &drifted, &mut Recorder::default()));
    let ran = target.ran.lock().expect("not poisoned").clone();
    assert!(!ran.iter().any(|id| id == grant.id()), "{ran:?}");
    assert!(report.count(Outcome::Drifted) >= 1);
}

/// The links recorded after an apply keep the old ones, add every matched user and every node
/// an applied create made, and nothing for a create that failed.
#[test]
fn links_after_an_apply_name_matched_and_created_nodes_only() {
    let apply = |scenario_name: &str, refuse: &[&str]| {
        let (config, directory, rescue) = scenario(scenario_name);
        let plan = make_plan(&config, &directory, &rescue);
        let target = Flaky {
            inner: MemoryTarget::new(rescue, 1),
            refuse: refuse
                .iter()
                .map(|id| ((*id).to_owned(), AdapterErrorKind::Conflict))
                .collect(),
            ran: Mutex::default(),
        };
        let report = futures::executor::block_on(execute(
            &plan,
            &target,
            &BTreeMap::new(),
            &mut Recorder::default(),
        ));
        let mut old = Links::default();
        old.technician
            .insert("someone-else".to_owned(), NodeId(999));
        (links_after(old, &plan, &report), report)
    };
    let jane = "00000000-0000-4000-8000-000000000001";

    let (links, report) = apply("create-technician", &[]);
    let created = report.results[0].node_id.expect("a created node");
    assert_eq!(links.technician.get(jane), Some(&created));
    assert_eq!(links.technician.get("someone-else"), Some(&NodeId(999)));

    let (links, _) = apply(
        "create-technician",
        &["create_user:technician:jane.doe@contoso.com"],
    );
    assert_eq!(
        links.technician.get(jane),
        None,
        "a failed create links nothing"
    );
    assert_eq!(links.technician.len(), 1);

    let (links, report) = apply("reenable-disabled-user", &[]);
    assert!(report.is_complete());
    let matched = report.results[0].node_id.expect("the enabled node");
    assert_eq!(links.technician.get(jane), Some(&matched));
}
