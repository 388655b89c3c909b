//! `Debug` of every configuration and client type holds no secret (SPEC §6): the configuration
//! with its secret references, the resolved `Secret`, the settings and clients of both adapters
//! (after use, when they cache a bearer token or an authcode), and the errors they return when
//! a secret is refused. Both the compact and the pretty form are checked.

use adsync_core::adapter::{DetailRequest, Source, SourceRequest, Target};
use adsync_core::config::{Config, GroupRef};
use adsync_core::model::RescueSnapshot;
use adsync_core::secret::Secret;
use adsync_graph::{GraphSettings, GraphSource};
use adsync_rescue::{RescueCredentials, RescueSettings, RescueTarget};
use adsync_tests::graph_emulator::{self, GraphEmulator};
use adsync_tests::rescue_emulator::{self, RescueEmulator};

/// Every secret in play, and the prefixes of what the emulators issue for them.
const SECRETS: [&str; 6] = [
    graph_emulator::CLIENT_SECRET,
    rescue_emulator::API_TOKEN,
    rescue_emulator::ACCOUNT_PASSWORD,
    rescue_emulator::DEFAULT_PASSWORD,
    "emulator-token-",
    "emulator-authcode-",
];

fn assert_redacted(what: &str, value: &dyn std::fmt::Debug) {
    for text in [format!("{value:?}"), format!("{value:#?}")] {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{what} shows {secret}: {text}");
        }
    }
}

fn demo_rescue() -> RescueSnapshot {
    serde_yaml::from_str(include_str!("../../fixtures/demo/rescue.yaml")).expect("rescue")
}

#[test]
fn a_secret_and_a_configuration_with_references() {
    for secret in SECRETS {
        let value = Secret::new(format!("{secret}\n"));
        assert_eq!(format!("{value:?}"), "[REDACTED]");
        assert_eq!(format!("{value:#?}"), "[REDACTED]");
        assert_redacted("Secret", &value);
    }
    let config: Config = serde_yaml::from_str(
        "source:
  type: graph
  tenant: contoso.onmicrosoft.com
  client_id: 6731de76-14a6-49ae-97bc-6eba6914391e
  client_secret: { env: ADSYNC_GRAPH_CLIENT_SECRET }
target:
  type: rescue
  auth:
    email: owner@contoso.com
    password: { file: /run/secrets/rescue }
  default_password: { env: ADSYNC_DEFAULT_PASSWORD }
pairings:
  - entra_group: SG-Rescue-L2
    rescue_group: Helpdesk/L2
    role: technician
",
    )
    .expect("a configuration");
    let debug = format!("{config:?}");
    assert!(debug.contains("ADSYNC_GRAPH_CLIENT_SECRET"), "{debug}");
    assert!(debug.contains("/run/secrets/rescue"), "{debug}");
    assert_redacted("Config", &config);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graph_settings_source_and_errors() {
    let directory =
        serde_yaml::from_str(include_str!("../../fixtures/demo/directory.yaml")).expect("dir");
    let emulator = GraphEmulator::start(directory).await;
    let settings: GraphSettings = emulator.settings(2);
    assert_redacted("GraphSettings", &settings);
    let source = GraphSource::new(settings.clone()).expect("settings");
    assert_redacted("GraphSource (new)", &source);
    let request = SourceRequest {
        groups: vec![GroupRef::Name("SG-Rescue-L2".into())],
        nested_groups: true,
        ..Default::default()
    };
    source.snapshot(&request).await.expect("a read");
    assert!(emulator.count(graph_emulator::RequestKind::Token) >= 1);
    assert_redacted("GraphSource (token cached)", &source);

    let refused = GraphSource::new(GraphSettings {
        client_secret: Secret::new(format!("{}-but-wrong", graph_emulator::CLIENT_SECRET)),
        ..settings
    })
    .expect("settings");
    let error = refused.check_token().await.expect_err("refused");
    assert_redacted("adsync_graph::Error", &error);
    let adapter = adsync_core::adapter::AdapterError::from(error);
    assert_redacted("AdapterError", &adapter);
    assert_redacted(
        "decode::Token",
        &adsync_graph::decode::token(br#"{"access_token":"emulator-token-99","expires_in":3599}"#)
            .expect("a token"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescue_settings_target_and_errors() {
    let emulator = RescueEmulator::start(&demo_rescue()).await;
    for settings in [emulator.settings(2), emulator.password_settings(2)] {
        assert_redacted("RescueSettings", &settings);
        assert_redacted("RescueCredentials", &settings.auth);
        let target = RescueTarget::new(settings.clone()).expect("settings");
        assert_redacted("RescueTarget (new)", &target);
        target
            .snapshot(&DetailRequest::default())
            .await
            .expect("a read");
        assert_redacted("RescueTarget (signed in)", &target);
    }
    assert!(emulator.authcodes_issued() >= 1, "an authcode was cached");

    let wrong = RescueSettings {
        auth: RescueCredentials::Password {
            email: rescue_emulator::ACCOUNT_EMAIL.into(),
            password: Secret::new(format!("{}-but-wrong", rescue_emulator::ACCOUNT_PASSWORD)),
        },
        ..emulator.settings(1)
    };
    let error = RescueTarget::new(wrong)
        .expect("settings")
        .read_snapshot(&DetailRequest::default())
        .await
        .expect_err("refused");
    assert_redacted("adsync_rescue::Error", &error);
    assert_redacted(
        "AdapterError",
        &adsync_core::adapter::AdapterError::from(error),
    );
}
