//! The demo organization as a test world for the saved-plan checks (`fixtures/demo`).

use crate::config::Config;
use crate::desired::desired;
use crate::model::{DirectorySnapshot, RescueSnapshot};

use super::{CurrentState, Links, Plan, Policy, plan};

/// The demo's configuration, what Rescue holds, and the plan made from both.
pub(super) fn demo() -> (Config, CurrentState, Plan) {
    demo_with(include_str!("../../../../fixtures/demo/rescue.yaml"))
}

/// The demo's directory and Rescue planned with `config`.
pub(super) fn demo_planned_with(config: &Config) -> (CurrentState, Plan) {
    let (_, current, _) = demo();
    let directory: DirectorySnapshot =
        serde_yaml::from_str(include_str!("../../../../fixtures/demo/directory.yaml"))
            .expect("directory");
    let desired = desired(&directory, config).expect("desired");
    let plan = plan(&desired, &current, &Policy::from_config(config)).expect("plan");
    (current, plan)
}

/// [`demo`] against another Rescue snapshot.
pub(super) fn demo_with(rescue: &str) -> (Config, CurrentState, Plan) {
    let config: Config =
        serde_yaml::from_str(include_str!("../../../../fixtures/demo/adsync.yaml"))
            .expect("config");
    let directory: DirectorySnapshot =
        serde_yaml::from_str(include_str!("../../../../fixtures/demo/directory.yaml"))
            .expect("directory");
    let rescue: RescueSnapshot = serde_yaml::from_str(rescue).expect("rescue");
    let current = CurrentState {
        rescue,
        links: Links::default(),
    };
    let desired = desired(&directory, &config).expect("desired");
    let plan = plan(&desired, &current, &Policy::from_config(&config)).expect("plan");
    (config, current, plan)
}
