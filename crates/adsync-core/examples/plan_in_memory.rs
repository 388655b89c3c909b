//! adsync-core embedded: a directory and a Rescue organization built in code, a configuration
//! pairing one Entra group with one Technician Group, then `desired()`, `plan()` and the plan
//! printed as the JSON `adsync plan --json` shows. No file, no network.
//!
//! ```text
//! cargo run -p adsync-core --example plan_in_memory
//! ```

use std::collections::BTreeSet;

use adsync_core::config::{
    Attribute, Config, DestinationRef, GroupRef, Pairing, SnapshotSourceConfig,
    SnapshotTargetConfig, SourceConfig, SyncConfig, Synced, TargetConfig,
};
use adsync_core::desired::desired;
use adsync_core::model::{
    DirectoryGroup, DirectorySnapshot, DirectoryUser, GroupPath, NodeType, RescueNode,
    RescueSnapshot, Role, Status,
};
use adsync_core::plan::{CurrentState, Policy, plan};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config {
        // The adapters are not used here: `desired()` and `plan()` take snapshots.
        source: SourceConfig::Snapshot(SnapshotSourceConfig {
            path: "directory.yaml".into(),
            nested_groups: true,
        }),
        target: TargetConfig::Snapshot(SnapshotTargetConfig {
            path: "rescue.yaml".into(),
            concurrency: 1,
        }),
        sync: SyncConfig::default(),
        pairings: vec![Pairing {
            name: Some("helpdesk-l2".into()),
            entra_group: Some(GroupRef::Name("SG-Rescue-L2".into())),
            condition: None,
            rescue_group: Some(DestinationRef::Path(GroupPath::parse("Helpdesk/L2"))),
            role: Role::Technician,
            mobile_license: true,
            upn_as_ssoid: false,
            email_as_ssoid: None,
            attributes: Synced {
                fields: BTreeSet::from([Attribute::Name, Attribute::Email]),
                templates: Default::default(),
            },
        }],
        goto: None,
    };
    config
        .validate()
        .map_err(|problems| format!("invalid configuration: {problems:?}"))?;

    // Entra: Jane and John in SG-Rescue-L2.
    let directory = DirectorySnapshot {
        users: vec![
            person("u-jane", "jane.doe@contoso.com", "Jane Doe"),
            person("u-john", "john.roe@contoso.com", "John Roe"),
        ],
        groups: vec![DirectoryGroup {
            id: "g-l2".into(),
            display_name: "SG-Rescue-L2".into(),
            members: vec!["u-jane".into(), "u-john".into()],
            member_groups: Vec::new(),
        }],
    };

    // Rescue: the containers, Helpdesk/L2, Jane already there under an old name, and Max, who
    // left the group.
    let mut nodes = vec![
        RescueNode::group(1, None, NodeType::Root, "Contoso"),
        RescueNode::group(
            2,
            Some(1),
            NodeType::MasterAdministrators,
            "Master Administrators",
        ),
        RescueNode::group(3, Some(1), NodeType::Administrators, "Administrators"),
        RescueNode::group(4, Some(1), NodeType::Technicians, "Technicians"),
        RescueNode::group(10, Some(4), NodeType::TechnicianGroup, "Helpdesk"),
        RescueNode::group(11, Some(10), NodeType::TechnicianGroup, "L2"),
    ];
    nodes.push(technician(100, 11, "jane.doe@contoso.com", "Jane D."));
    nodes.push(technician(
        101,
        11,
        "max.mustermann@contoso.com",
        "Max Mustermann",
    ));
    let current = CurrentState {
        rescue: RescueSnapshot { nodes },
        links: Default::default(),
    };

    let wanted = desired(&directory, &config)?;
    let made = plan(&wanted, &current, &Policy::from_config(&config))?;
    println!("{}", serde_json::to_string_pretty(&made)?);
    Ok(())
}

fn person(id: &str, mail: &str, name: &str) -> DirectoryUser {
    DirectoryUser {
        id: id.into(),
        upn: mail.into(),
        mail: Some(mail.into()),
        display_name: name.into(),
        given_name: None,
        surname: None,
        job_title: None,
        department: None,
        mobile_phone: None,
        employee_id: None,
        account_enabled: true,
        attributes: Default::default(),
    }
}

fn technician(id: u64, parent: u64, email: &str, name: &str) -> RescueNode {
    RescueNode {
        email: Some(email.into()),
        status: Some(Status::Enabled),
        mobile: Some(false),
        ..RescueNode::group(id, Some(parent), NodeType::Technician, name)
    }
}
