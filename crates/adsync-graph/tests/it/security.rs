//! Secrets stay out of Debug output and errors; endpoints must be https unless loopback.

use adsync_core::adapter::AdapterError;
use adsync_graph::{Error, GraphSource};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer};

use crate::{
    SECRET, TOKEN, TOKEN_PATH, by_id, fixture, json, mount_token, page, request, settings,
    snapshot, source,
};

#[tokio::test]
async fn debug_output_never_holds_the_secret_or_the_token() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g1"))
        .respond_with(json(200, r#"{"id":"g1","displayName":"SG"}"#))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1.0/groups/g1/members/microsoft.graph.user"))
        .respond_with(page(vec![], None))
        .mount(&server)
        .await;
    let settings = settings(&server);
    assert!(!format!("{settings:?}").contains(SECRET));
    let source = source(&server);
    // After a read the token is cached inside the source.
    snapshot(&source, &request(vec![by_id("g1")], false))
        .await
        .expect("snapshot");
    let debug = format!("{source:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(!debug.contains(&TOKEN[..20]), "{debug}");
    assert!(debug.contains("contoso.onmicrosoft.com"), "{debug}");
}

#[tokio::test]
async fn errors_never_hold_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(json(401, &fixture("token-error-7000215.json")))
        .mount(&server)
        .await;
    let error = source(&server).check_token().await.unwrap_err();
    let debug = format!("{error:?}");
    let adapter = AdapterError::from(error);
    for text in [debug, format!("{adapter:?}"), adapter.to_string()] {
        assert!(!text.contains(SECRET), "{text}");
    }
}

#[test]
fn plain_http_is_refused_unless_loopback() {
    let server_uri = "http://graph.contoso.com";
    let mut settings = settings_for(server_uri);
    let error = GraphSource::new(settings.clone()).unwrap_err();
    assert!(
        matches!(
            error,
            Error::InsecureUrl {
                what: "authority url",
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "the authority url `http://graph.contoso.com` must use https (plain http is accepted only for loopback hosts)"
    );
    settings.authority_url = None;
    assert!(matches!(
        GraphSource::new(settings.clone()),
        Err(Error::InsecureUrl {
            what: "graph url",
            ..
        })
    ));
    settings.graph_url = Some("https://graph.contoso.com".to_owned());
    assert!(GraphSource::new(settings).is_ok());
    assert!(GraphSource::new(settings_for("http://127.0.0.1:9")).is_ok());
}

#[test]
fn pseudo_tenants_and_zero_concurrency_are_refused() {
    let mut settings = settings_for("http://127.0.0.1:9");
    settings.tenant = "common".to_owned();
    assert!(matches!(
        GraphSource::new(settings.clone()),
        Err(Error::InvalidSetting {
            setting: "tenant",
            ..
        })
    ));
    settings.tenant = "contoso.onmicrosoft.com/../x".to_owned();
    assert!(GraphSource::new(settings.clone()).is_err());
    settings.tenant = "contoso.onmicrosoft.com".to_owned();
    settings.concurrency = 0;
    assert!(matches!(
        GraphSource::new(settings),
        Err(Error::InvalidSetting {
            setting: "concurrency",
            ..
        })
    ));
}

fn settings_for(uri: &str) -> adsync_graph::GraphSettings {
    adsync_graph::GraphSettings {
        tenant: "contoso.onmicrosoft.com".to_owned(),
        client_id: "app".to_owned(),
        client_secret: adsync_core::secret::Secret::new(SECRET),
        cloud: adsync_core::config::Cloud::Global,
        authority_url: Some(uri.to_owned()),
        graph_url: Some(uri.to_owned()),
        concurrency: 8,
        retry: adsync_graph::RetryPolicy::default(),
    }
}

#[tokio::test]
async fn the_source_works_through_the_trait_object() {
    let server = MockServer::start().await;
    mount_token(&server).await;
    let source: Box<dyn adsync_core::adapter::Source> = Box::new(source(&server));
    let snapshot = source
        .snapshot(&request(vec![], true))
        .await
        .expect("an empty request reads nothing");
    assert!(snapshot.users.is_empty() && snapshot.groups.is_empty());
}
