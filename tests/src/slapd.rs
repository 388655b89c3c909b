//! A real OpenLDAP `slapd` for a test: its own temporary folder, `cn=config` built here,
//! Debian's `msuser` schema for Active Directory-shaped entries, a plain and a TLS listener on
//! free loopback ports with a certificate from a CA made for the test, and size limits of 5
//! entries for the service account so that only paged searches read everything. Killed (and
//! its folder removed) on drop.
//!
//! slapd and the ldap-utils come from Debian's `slapd` and `ldap-utils` packages, which
//! `.ci/test` installs; without them the test fails saying so.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::ad_directory::{AdDirectory, BASE_DN};

/// The account adsync binds as.
pub const SERVICE_DN: &str = "cn=svc-adsync,ou=Service,dc=corp,dc=example";
/// Its password: a value no output has a reason to contain.
pub const SERVICE_PASSWORD: &str = "Svc-ldap-7Hq2-Zr9w-bind-password";
/// The size limit the service account gets (soft, hard and per page).
pub const SIZE_LIMIT: usize = 5;

const ROOT_DN: &str = "cn=admin,dc=corp,dc=example";
const ROOT_PASSWORD: &str = "root-test-only";
const SLAPD: &str = "/usr/sbin/slapd";
const SLAPADD: &str = "/usr/sbin/slapadd";
const SCHEMA_DIR: &str = "/etc/ldap/schema";
const MODULE_DIR: &str = "/usr/lib/ldap";

/// A running slapd.
pub struct Slapd {
    dir: PathBuf,
    child: Child,
    ldap_port: u16,
    ldaps_port: u16,
    ca_pem: String,
}

/// A CA made for one test, and a server certificate it signed for `localhost` and 127.0.0.1.
pub struct TestCa {
    /// The CA certificate (PEM).
    pub ca_pem: String,
    /// The server certificate (PEM).
    pub cert_pem: String,
    /// The server key (PEM). Test-only, never written anywhere but a test's temporary folder.
    pub key_pem: String,
}

impl TestCa {
    /// Makes a fresh CA and server certificate.
    pub fn new() -> TestCa {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
            KeyUsagePurpose,
        };
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "adsync test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("a CA certificate");
        let key = KeyPair::generate().expect("a server key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server params");
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &ca).expect("a server certificate");
        TestCa {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

impl Default for TestCa {
    fn default() -> TestCa {
        TestCa::new()
    }
}

/// Fails the test when a binary the harness needs is missing.
pub fn require(binary: &str) {
    assert!(
        Path::new(binary).exists(),
        "`{binary}` is missing: the LDAP tests need Debian's slapd and ldap-utils; run .ci/test, \
         which installs the packages listed in .ci/packages"
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

fn scratch() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "adsync-slapd-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config")).expect("a slapd folder");
    std::fs::create_dir_all(dir.join("data")).expect("a slapd data folder");
    dir
}

impl Slapd {
    /// Loads `directory` and starts slapd on two free loopback ports.
    pub fn start(directory: &AdDirectory) -> Slapd {
        require(SLAPD);
        require(SLAPADD);
        let dir = scratch();
        let ca = TestCa::new();
        for (file, text) in [
            ("ca.pem", &ca.ca_pem),
            ("server.pem", &ca.cert_pem),
            ("server.key", &ca.key_pem),
        ] {
            std::fs::write(dir.join(file), text).expect("a TLS file");
        }
        std::fs::write(dir.join("config.ldif"), config_ldif(&dir)).expect("config.ldif");
        let data = directory.to_ldif((SERVICE_DN, SERVICE_PASSWORD));
        std::fs::write(dir.join("data.ldif"), data).expect("data.ldif");
        slapadd(&dir, "0", "config.ldif");
        slapadd(&dir, "1", "data.ldif");

        let (ldap_port, ldaps_port) = (free_port(), free_port());
        let urls = format!("ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/");
        let log = std::fs::File::create(dir.join("slapd.log")).expect("a log file");
        let child = Command::new(SLAPD)
            .args(["-d", "0", "-h", &urls, "-F"])
            .arg(dir.join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("slapd starts");
        let mut slapd = Slapd {
            dir,
            child,
            ldap_port,
            ldaps_port,
            ca_pem: ca.ca_pem,
        };
        slapd.wait_ready();
        slapd
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("slapd.log")).unwrap_or_default();
                panic!("slapd exited ({status}) before listening:\n{log}");
            }
            let up = [self.ldap_port, self.ldaps_port]
                .iter()
                .all(|port| TcpStream::connect(("127.0.0.1", *port)).is_ok());
            if up {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "slapd did not listen within 60 s"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// `ldap://127.0.0.1:<port>` (cleartext; StartTLS upgrades it).
    pub fn ldap_url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.ldap_port)
    }

    /// `ldaps://127.0.0.1:<port>`.
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// `ldaps://localhost:<port>`.
    pub fn ldaps_localhost_url(&self) -> String {
        format!("ldaps://localhost:{}", self.ldaps_port)
    }

    /// The test CA's certificate (PEM).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Applies an LDIF change (`changetype: modify`, `modrdn`, ...) as the directory's
    /// manager, with `ldapmodify`.
    pub fn modify(&self, ldif: &str) {
        const LDAPMODIFY: &str = "/usr/bin/ldapmodify";
        require(LDAPMODIFY);
        let mut child = Command::new(LDAPMODIFY)
            .args([
                "-x",
                "-H",
                &self.ldap_url(),
                "-D",
                ROOT_DN,
                "-w",
                ROOT_PASSWORD,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ldapmodify starts");
        child
            .stdin
            .take()
            .expect("a stdin")
            .write_all(ldif.as_bytes())
            .expect("the change is written");
        let output = child.wait_with_output().expect("ldapmodify ends");
        assert!(
            output.status.success(),
            "ldapmodify failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn slapadd(dir: &Path, database: &str, file: &str) {
    let output = Command::new(SLAPADD)
        .args(["-n", database, "-F"])
        .arg(dir.join("config"))
        .arg("-l")
        .arg(dir.join(file))
        .output()
        .expect("slapadd runs");
    assert!(
        output.status.success(),
        "slapadd -n {database} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `cn=config`: TLS files, the mdb backend, the schemas, open read access, and the service
/// account's size limits (paged searches may go on; one page or an unpaged search may not
/// hold more than [`SIZE_LIMIT`] entries).
fn config_ldif(dir: &Path) -> String {
    let dir = dir.display();
    let schemas: String = ["core", "cosine", "inetorgperson", "nis", "msuser"]
        .iter()
        .map(|name| format!("include: file://{SCHEMA_DIR}/{name}.ldif\n\n"))
        .collect();
    format!(
        "dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: {dir}/slapd.pid
olcArgsFile: {dir}/slapd.args
olcTLSCACertificateFile: {dir}/ca.pem
olcTLSCertificateFile: {dir}/server.pem
olcTLSCertificateKeyFile: {dir}/server.key

dn: cn=module{{0}},cn=config
objectClass: olcModuleList
cn: module{{0}}
olcModulePath: {MODULE_DIR}
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

{schemas}dn: olcDatabase={{-1}}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {{-1}}frontend
olcAccess: {{0}}to dn.base=\"\" by * read
olcAccess: {{1}}to dn.base=\"cn=subschema\" by * read

dn: olcDatabase={{0}}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {{0}}config
olcAccess: {{0}}to * by * none

dn: olcDatabase={{1}}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {{1}}mdb
olcSuffix: {BASE_DN}
olcRootDN: {ROOT_DN}
olcRootPW: {ROOT_PASSWORD}
olcDbDirectory: {dir}/data
olcDbNosync: TRUE
olcDbMaxSize: 67108864
olcAccess: {{0}}to attrs=userPassword by anonymous auth by * none
olcAccess: {{1}}to * by * read
olcLimits: {{0}}dn.exact=\"{SERVICE_DN}\" size.soft={SIZE_LIMIT} size.hard={SIZE_LIMIT} size.pr={SIZE_LIMIT} size.prtotal=unlimited

"
    )
}
