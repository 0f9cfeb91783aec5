//! `keyward server --tls-cert/--tls-key`: the API over TLS with certificates from a test CA made
//! by the real `openssl` tool; the CLI trusting that CA with `--ca-cert`; a new certificate
//! taken on SIGHUP while a connection opened before it keeps working; HSTS on TLS answers; and
//! clear messages for plain HTTP to the TLS port, TLS to the plain port, an untrusted
//! certificate, and certificate files that cannot be used. The listener does not depend on the
//! backend, so these run on SQLite only.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::harness::{Server, TestEnv, bootstrap, store_args};

/// Runs the `openssl` tool in `dir` with `args` (split on spaces; none holds one).
fn openssl(dir: &Path, args: &str) {
    let args: Vec<&str> = args.split_whitespace().collect();
    let out = Command::new("openssl")
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new P-256 key, unencrypted, for `openssl req`.
const NEW_EC_KEY: &str = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";

/// A test CA (`ca.pem`, `ca.key`) in `dir`.
fn make_ca(dir: &Path) -> PathBuf {
    openssl(
        dir,
        &format!(
            "req -x509 {NEW_EC_KEY} -keyout ca.key -out ca.pem -days 2 -subj /CN=keyward-test-CA \
             -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign"
        ),
    );
    dir.join("ca.pem")
}

/// A server certificate for 127.0.0.1 and localhost signed by the CA in `dir`, as
/// `{name}.pem` and `{name}.key` (mode 0600).
fn make_leaf(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &format!("req {NEW_EC_KEY} -keyout {name}.key -out {name}.csr -subj /CN=localhost"),
    );
    openssl(
        dir,
        &format!(
            "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
             -extfile leaf.ext -out {name}.pem"
        ),
    );
    let key = dir.join(format!("{name}.key"));
    private(&key);
    (dir.join(format!("{name}.pem")), key)
}

fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn der(pem: &Path) -> Vec<u8> {
    CertificateDer::from_pem_file(pem).unwrap().to_vec()
}

/// A client trusting only `ca`, which reports the certificate each answer came with.
fn client(ca: &Path) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&std::fs::read(ca).unwrap()).unwrap())
        .tls_info(true)
        .build()
        .unwrap()
}

/// `GET url` with `client`: the status, the HSTS header, and the server's certificate.
async fn get(client: &reqwest::Client, url: &str) -> (u16, Option<String>, Vec<u8>) {
    let response = client.get(url).send().await.unwrap();
    let hsts = response
        .headers()
        .get("strict-transport-security")
        .map(|v| v.to_str().unwrap().to_owned());
    let cert = response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .unwrap()
        .to_vec();
    let status = response.status().as_u16();
    response.bytes().await.unwrap();
    (status, hsts, cert)
}

struct Tls {
    env: TestEnv,
    store: Vec<String>,
    admin: (String, String),
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn setup() -> Tls {
    let env = TestEnv::new();
    let dir = env.dir.path().to_owned();
    let ca = make_ca(&dir);
    let (cert, key) = make_leaf(&dir, "server");
    let store = store_args(&env.database("tls.db"), &dir.join("pepper"));
    let admin = bootstrap(&env, &store);
    Tls {
        env,
        store,
        admin,
        ca,
        cert,
        key,
    }
}

impl Tls {
    fn start(&self, tls: bool) -> Server {
        let mut args: Vec<String> = self.store.clone();
        if tls {
            args.extend([
                "--tls-cert".to_owned(),
                self.cert.display().to_string(),
                "--tls-key".to_owned(),
                self.key.display().to_string(),
            ]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Server::start(&self.env, &args)
    }

    /// keyward run as a script logged in to `url` as the super admin, with `vars` set too;
    /// expects exit code `code` and returns stdout and stderr.
    fn cli(&self, url: &str, vars: &[(&str, &str)], args: &[&str], code: i32) -> (String, String) {
        let out = self
            .env
            .keyward()
            .env("KEYWARD_URL", url)
            .env("KEYWARD_CLIENT_ID", &self.admin.0)
            .env("KEYWARD_CLIENT_SECRET", &self.admin.1)
            .envs(vars.iter().copied())
            .args(args)
            .output()
            .unwrap();
        let (stdout, stderr) = (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "keyward {args:?}: {stdout}\n{stderr}"
        );
        (stdout, stderr)
    }
}

#[test]
fn the_cli_talks_to_a_tls_server_that_takes_a_new_certificate_on_sighup() {
    let t = setup();
    let server = t.start(true);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );

    // The CLI trusts the test CA with --ca-cert, or KEYWARD_CA_CERT.
    let url = server.url.as_str();
    let ca = t.ca.display().to_string();
    let (out, _) = t.cli(
        url,
        &[],
        &["--ca-cert", &ca, "--output", "json", "keys", "list"],
        0,
    );
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{out}");
    t.cli(
        url,
        &[("KEYWARD_CA_CERT", &ca)],
        &[
            "keys", "create", "--name", "over-tls", "--env", "default", "--quiet",
        ],
        0,
    );
    // Without it, the system roots do not know the test CA: a TLS failure, named as one.
    let (_, untrusted) = t.cli(url, &[], &["keys", "list"], 6);
    assert!(
        untrusted.contains("TLS")
            && untrusted.contains("not trusted")
            && untrusted.contains("self-signed")
            && untrusted.contains("--ca-cert"),
        "{untrusted}"
    );
    // In words: no debug form of rustls' error (`Context {`, `UnknownIssuer`, byte lists).
    for debug in ["{", "UnknownIssuer", "Context", "["] {
        assert!(!untrusted.contains(debug), "{debug} in {untrusted}");
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let healthz = format!("{}/healthz", server.url);
        let before = client(&t.ca);
        let (status, hsts, cert) = get(&before, &healthz).await;
        assert_eq!(status, 200);
        assert_eq!(hsts.as_deref(), Some("max-age=31536000"));
        assert_eq!(cert, der(&t.cert));

        // A new certificate and key in place of the old, then SIGHUP.
        let first = der(&t.cert);
        let dir = t.env.dir.path();
        let (new_cert, new_key) = make_leaf(dir, "renewed");
        std::fs::rename(&new_key, &t.key).unwrap();
        std::fs::rename(&new_cert, &t.cert).unwrap();
        let renewed = der(&t.cert);
        assert_ne!(first, renewed);
        hangup(&server);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, _, cert) = get(&client(&t.ca), &healthz).await;
            assert_eq!(status, 200);
            if cert == renewed {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the new certificate was not taken on SIGHUP"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The connection opened before the reload was not dropped: it still answers, with the
        // certificate it was opened with.
        let (status, _, cert) = get(&before, &healthz).await;
        assert_eq!(status, 200);
        assert_eq!(cert, first, "the earlier connection was replaced, not kept");

        // A reload that cannot be used keeps the certificate in use.
        std::fs::write(&t.key, "not a key").unwrap();
        hangup(&server);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !server
            .log_text()
            .contains("kept the TLS certificate in use")
        {
            assert!(Instant::now() < deadline, "log:\n{}", server.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (status, _, cert) = get(&client(&t.ca), &healthz).await;
        assert_eq!(status, 200);
        assert_eq!(cert, renewed);
    });
    assert!(!server.log_text().contains("not a key"));
}

fn hangup(server: &Server) {
    // SAFETY: kill(2) on the pid of a child the harness spawned and has not reaped.
    unsafe { libc::kill(server.pid() as libc::pid_t, libc::SIGHUP) };
}

#[test]
fn http_to_the_tls_port_and_tls_to_the_http_port_say_which_was_meant() {
    let t = setup();
    let tls = t.start(true);
    let plain_url = tls.url.replace("https://", "http://");
    let ca = t.ca.display().to_string();

    // Plain HTTP to the TLS port is answered in plain HTTP: use https://.
    let raw = crate::harness::http(tls.authority(), "GET", "/healthz", &[], b"");
    assert_eq!(raw.status, 400);
    assert_eq!(raw.header("content-type"), Some("application/problem+json"));
    let problem: serde_json::Value = serde_json::from_slice(&raw.body).unwrap();
    assert_eq!(problem["code"], "https_required");
    let (_, err) = t.cli(&plain_url, &[], &["--ca-cert", &ca, "keys", "list"], 2);
    assert!(
        err.contains("this port speaks HTTPS: use an https:// URL"),
        "{err}"
    );

    // TLS to a plain-HTTP port: the handshake fails, and the CLI says to use http://.
    let plain = t.start(false);
    let tls_url = plain.url.replace("http://", "https://");
    let (_, err) = t.cli(&tls_url, &[], &["--ca-cert", &ca, "keys", "list"], 6);
    assert!(
        err.contains("TLS") && err.contains("use an http:// URL"),
        "{err}"
    );
    // Neither mistake put the secret on the screen.
    assert!(!err.contains(&t.admin.1));
}

/// The quickest self-signed certificate (`openssl req -x509` with its defaults) is a CA
/// certificate, which no client accepts as a server's own: the CLI says what to make instead.
/// The one the README shows (CA:FALSE) is trusted with --ca-cert.
#[test]
fn a_self_signed_certificate_works_with_ca_false_and_a_ca_one_is_named() {
    let t = setup();
    let dir = t.env.dir.path();
    for (name, constraint, code) in [("as-ca", "CA:TRUE", 6), ("as-leaf", "critical,CA:FALSE", 0)] {
        openssl(
            dir,
            &format!(
                "req -x509 {NEW_EC_KEY} -days 1 -keyout {name}.key -out {name}.pem \
                 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
                 -addext basicConstraints={constraint}"
            ),
        );
        let (cert, key) = (
            dir.join(format!("{name}.pem")),
            dir.join(format!("{name}.key")),
        );
        private(&key);
        let mut args: Vec<String> = t.store.clone();
        args.extend([
            "--tls-cert".to_owned(),
            cert.display().to_string(),
            "--tls-key".to_owned(),
            key.display().to_string(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let server = Server::start(&t.env, &args);
        let ca = cert.display().to_string();
        let (_, err) = t.cli(&server.url, &[], &["--ca-cert", &ca, "keys", "list"], code);
        if code != 0 {
            assert!(
                err.contains("presents a CA certificate") && err.contains("CA:FALSE"),
                "{err}"
            );
        }
    }
}

#[test]
fn certificate_files_that_cannot_be_used_are_refused_at_start_up() {
    let t = setup();
    let dir = t.env.dir.path();
    let (other_cert, _) = make_leaf(dir, "other");
    let cert = t.cert.display().to_string();
    let key = t.key.display().to_string();
    let missing = dir.join("missing.pem").display().to_string();
    let other = other_cert.display().to_string();
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let empty = empty.display().to_string();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--tls-cert", &missing, "--tls-key", &key],
            "cannot read the TLS certificate file",
        ),
        (
            &["--tls-cert", &empty, "--tls-key", &key],
            "holds no PEM certificate",
        ),
        (
            &["--tls-cert", &cert, "--tls-key", &empty],
            "holds no PEM private key",
        ),
        (
            &["--tls-cert", &other, "--tls-key", &key],
            "do not go together",
        ),
    ];
    for (tls, says) in cases {
        let mut args = vec!["server", "--listen", "127.0.0.1:0"];
        args.extend(t.store.iter().map(String::as_str));
        args.extend(tls);
        let err = t.env.fails(&args, 2);
        assert!(err.contains(says), "{tls:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{tls:?}: {err}");
    }
    // One without the other is a usage error too.
    let mut args = vec!["server", "--listen", "127.0.0.1:0", "--tls-cert", &cert];
    args.extend(t.store.iter().map(String::as_str));
    let err = t.env.fails(&args, 2);
    assert!(err.contains("--tls-key"), "{err}");
}
