//! The service page in a real browser: headless chromium driven over WebDriver (chromedriver,
//! fantoccini), against the real `adsync run --listen` and the emulators. Chromium and
//! chromedriver come from Debian's `chromium` and `chromium-driver` (`.ci/packages`); `.ci/test`
//! installs them. Screenshots go to `target/tmp/screenshots/`.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::scratch;
use crate::service::{Served, clear_faults, demo_with_two_failures};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver in a process group of its own, and the chromium it starts (in groups of their
/// own) found by their profile folder: all killed when dropped, also when the test fails.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn start(log: &Path, profile: PathBuf) -> Driver {
        for binary in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(binary).exists(),
                "{binary} is missing: run .ci/test, which installs the Debian packages in \
                 .ci/packages (chromium, chromium-driver)"
            );
        }
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            child,
            port,
            profile,
        };
        let ready = crate::emulated::wait_until(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(ready, "chromedriver listens on {port}");
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The `--` is what makes `-PGID` a process group: procps-ng 4's kill reads
        // `kill -KILL -12345` as `kill(-1, SIGKILL)`, every process the user (here root)
        // may signal, whenever the group id starts with 1.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in processes_using(&self.profile) {
            let _ = Command::new("kill").args(["-KILL", &pid]).status();
        }
    }
}

/// The processes whose command line names `profile` (this test's chromium, and only it).
fn processes_using(profile: &Path) -> Vec<String> {
    let marker = format!("--user-data-dir={}", profile.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().into_owned();
            let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (pid.bytes().all(|b| b.is_ascii_digit()) && cmdline.contains(&marker)).then_some(pid)
        })
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1100,1400",
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session")
}

/// The text of the element `css` selects, once the page has it (a click's navigation may
/// still be under way).
async fn text_of(client: &Client, css: &str) -> String {
    let start = Instant::now();
    loop {
        let found = match client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.map_err(|e| e.to_string()),
            Err(error) => Err(error.to_string()),
        };
        match found {
            Ok(text) => return text,
            Err(error) if start.elapsed() > Duration::from_secs(20) => {
                panic!("{css} is on the page: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Clicks `css` and waits until the browser is on a page whose path and query end with `to`.
async fn click_to(client: &Client, css: &str, to: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css} is on the page: {error}"))
        .click()
        .await
        .expect("clicked");
    let start = Instant::now();
    loop {
        let url = client.current_url().await.expect("a url");
        let here = format!(
            "{}{}",
            url.path(),
            url.query().map(|q| format!("?{q}")).unwrap_or_default()
        );
        if here.ends_with(to) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{css} leads to {to}, not {here}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn screenshot(client: &Client, dir: &Path, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    std::fs::write(dir.join(name), png).expect("screenshot written");
}

/// Reloads `path` until `done` holds for the text of `css`, for at most `limit`.
async fn reload_until(
    client: &Client,
    url: &str,
    css: &str,
    limit: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        client.goto(url).await.expect("the page loads");
        let text = match client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if done(&text) || start.elapsed() > limit {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    dir
}

/// Two categories of failure show as two banners whose Details list the users with the action,
/// the Rescue code and the message; Retry after clearing the faults runs again, the page shows
/// it, and the history holds the new, successful run above the failed one.
#[test]
fn the_page_shows_failures_and_details_and_retry_succeeds() {
    let served = Served::start(
        demo_with_two_failures("browser"),
        &["--listen", "127.0.0.1:0"],
    );
    let first = served.wait_for_run_after(None);
    assert_eq!(first["last_run"]["outcome"], "incomplete");
    let work = scratch("browser-chromium");
    let driver = Driver::start(&work.join("chromedriver.log"), work.join("profile"));
    let shots = screenshots();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for WebDriver");
    let base = served.base.clone();
    runtime.block_on(async {
        let client = browser(&driver, &driver.profile).await;
        client
            .goto(&format!("{base}/"))
            .await
            .expect("the overview loads");
        assert_eq!(text_of(&client, "#last-outcome").await, "incomplete");
        let existing = text_of(&client, "#banner-existing_account").await;
        assert!(
            existing.contains("Users have existing accounts (1)"),
            "{existing}"
        );
        assert!(
            existing.contains("already used by another Rescue user"),
            "{existing}"
        );
        let licences = text_of(&client, "#banner-out_of_licenses").await;
        assert!(licences.contains("Out of licences"), "{licences}");
        assert!(licences.contains("Buy or free licences"), "{licences}");
        assert!(
            client
                .find(Locator::Css("#banner-failed_read"))
                .await
                .is_err(),
            "only the categories that occurred"
        );
        screenshot(&client, &shots, "overview.png").await;

        click_to(
            &client,
            "#details-existing_account",
            "/failures/existing_account",
        )
        .await;
        let table = text_of(&client, "#failures").await;
        for expected in [
            "victor.almeida@contoso.com",
            "+ create administrator victor.almeida@contoso.com",
            "INVALIDPARAM_EMAIL_ALREADY_IN_USE",
        ] {
            assert!(table.contains(expected), "{expected} in {table}");
        }
        screenshot(&client, &shots, "details-existing-account.png").await;
        client.goto(&format!("{base}/")).await.expect("back");
        click_to(
            &client,
            "#details-out_of_licenses",
            "/failures/out_of_licenses",
        )
        .await;
        let table = text_of(&client, "#failures").await;
        for expected in [
            "bruno.costa@contoso.com",
            "gabriel.nunez@contoso.com",
            "mobile",
        ] {
            assert!(table.contains(expected), "{expected} in {table}");
        }
        assert!(!table.contains("victor.almeida"), "one category per page");

        clear_faults(&served.emulated);
        client
            .goto(&format!("{base}/"))
            .await
            .expect("the overview");
        click_to(&client, "#retry", "/?retry=started").await;
        let after_click = text_of(&client, "main").await;
        assert!(
            after_click.contains("Retry requested")
                || after_click.contains("running")
                || after_click.contains("starting"),
            "the page shows the retry: {after_click}"
        );
        let outcome = reload_until(
            &client,
            &format!("{base}/"),
            "#last-outcome",
            Duration::from_secs(60),
            |text| text == "success",
        )
        .await;
        assert_eq!(outcome, "success", "{}", served.emulated.read("run.stderr"));
        assert!(
            client.find(Locator::Css("#no-failures")).await.is_ok(),
            "no banner after the retry"
        );
        screenshot(&client, &shots, "overview-after-retry.png").await;

        client
            .goto(&format!("{base}/history"))
            .await
            .expect("history");
        let rows = client
            .find_all(Locator::Css("#history tr.run"))
            .await
            .expect("run rows");
        assert_eq!(rows.len(), 2, "both runs are in the history");
        let newest = rows[0].text().await.expect("text");
        let older = rows[1].text().await.expect("text");
        assert!(newest.contains("success"), "{newest}");
        assert!(older.contains("incomplete"), "{older}");
        let search = client
            .find(Locator::Css("input[name=email]"))
            .await
            .expect("a search box");
        search.send_keys("victor.almeida").await.expect("typed");
        search.send_keys("\u{E007}").await.expect("enter");
        let found = text_of(&client, "#history").await;
        assert!(found.contains("victor.almeida@contoso.com"), "{found}");
        assert!(
            !found.contains("bruno.costa"),
            "only the searched user: {found}"
        );
        assert!(
            found.contains("failed") && found.contains("applied"),
            "{found}"
        );
        screenshot(&client, &shots, "history.png").await;

        client
            .set_window_size(390, 844)
            .await
            .expect("a phone-sized window");
        client
            .goto(&format!("{base}/"))
            .await
            .expect("the overview");
        let width: u64 = client
            .execute("return document.documentElement.scrollWidth", vec![])
            .await
            .expect("a width")
            .as_u64()
            .unwrap_or(u64::MAX);
        assert!(width <= 390, "no sideways scrolling on a phone: {width}px");
        screenshot(&client, &shots, "overview-phone.png").await;
        client.close().await.expect("the session ends");
    });
    drop(driver);
    served.stop();
}
